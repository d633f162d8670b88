"""`AutoModeNodeClass`: the EKS Auto Mode NodeClass an eks-auto stack's pools boot from, naming the node role and
the cluster security group the `Cluster` component created."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional

import pulumi

from ..config.cluster import EksAutoClusterConfig
from ..parts import object_id
from ..manifests.auto_mode import build_auto_node_class
from ._k8s_resources import declare_objects

__all__ = ["AutoModeNodeClass"]


class AutoModeNodeClass(pulumi.ComponentResource):
    """The NodeClass `gpu-node-pools` (eks.amazonaws.com/v1)."""

    object_ids: pulumi.Output[list[str]]
    """`Kind/name` of the object the component declares"""

    def __init__(
        self, name: str, cluster: EksAutoClusterConfig, *, node_role_name: pulumi.Input[str],
        security_group_id: pulumi.Input[str], after: Sequence[pulumi.Resource] = (),
        opts: Optional[pulumi.ResourceOptions] = None,
    ) -> None:
        super().__init__("gpu-node-pools:index:AutoModeNodeClass", name, None, opts)
        obj = build_auto_node_class(cluster.auto_mode.node_class, role=node_role_name,
                                    subnet_ids=cluster.subnet_ids, security_group_id=security_group_id)
        (self.node_class,) = declare_objects([obj], self, depends_on=after).values()
        self.object_ids = pulumi.Output.from_input([object_id(obj)])
        self.register_outputs({"object_ids": self.object_ids})
