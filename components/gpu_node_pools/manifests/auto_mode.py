"""The EKS Auto Mode NodeClass (`eks.amazonaws.com/v1`) every elastic pool of an eks-auto stack boots from.

Auto Mode runs Karpenter itself and reads the same `karpenter.sh/v1` NodePool API; what differs is the NodeClass
(Bottlerocket nodes AWS patches: no AMI, no user data) and the instance label keys a requirement uses, which
`manifests.karpenter.node_pool` switches to when a pool's nodeClassRef is this NodeClass. Reference: EKS User
Guide, "Create a Node Class for Amazon EKS" (Node Class specification).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..config.auto_mode import AUTO_NODE_CLASS_NAME, AutoNodeClassConfig

__all__ = ["NODE_CLASS_API_VERSION", "build_auto_node_class"]

NODE_CLASS_API_VERSION = "eks.amazonaws.com/v1"


def build_auto_node_class(
    config: AutoNodeClassConfig, *, role: Any, subnet_ids: Sequence[str], security_group_id: Any
) -> dict[str, Any]:
    """The NodeClass `gpu-node-pools`. `role` (the node role's name) and `security_group_id` (the cluster security
    group's) are Pulumi outputs when deployed.

    Subnets and the security group by id: the stack has them, and a discovery tag on subnets it doesn't own would be
    shared with every other stack in the VPC. The ephemeral volume is sized for GPU images (Auto Mode's default, 80
    GiB, holds a few CUDA images at most); Auto Mode encrypts it and sets gp3 itself."""
    return {
        "apiVersion": NODE_CLASS_API_VERSION,
        "kind": "NodeClass",
        "metadata": {"name": AUTO_NODE_CLASS_NAME, "labels": {"app.kubernetes.io/managed-by": "gpu-node-pools"}},
        "spec": {
            "role": role,
            "subnetSelectorTerms": [{"id": subnet} for subnet in subnet_ids],
            "securityGroupSelectorTerms": [{"id": security_group_id}],
            "ephemeralStorage": {"size": f"{config.ephemeral_storage_size}Gi"},
            "tags": {"gpu-node-pools.io/node-class": AUTO_NODE_CLASS_NAME, **config.tags},
        },
    }
