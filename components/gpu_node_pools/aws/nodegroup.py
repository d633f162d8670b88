"""A node pool's EKS CreateNodegroup request, in the EKS API's own (camelCase) shape.

`nodegroup_request` is the single source of what a pool is on EKS: `gpu-node-pools pools --json` prints it,
the tests validate it against botocore's EKS model, and the `NodePool` component feeds it to
`aws.eks.NodeGroup`.
"""

from __future__ import annotations

from typing import Any

from ..config.node_pool import NodePoolConfig
from ..contract import IsolationContract

__all__ = ["nodegroup_request"]


def nodegroup_request(
    pool: NodePoolConfig,
    contract: IsolationContract,
    *,
    cluster_name: str,
    subnet_ids: list[str],
    node_role_arn: str,
    kubernetes_version: str | None = None,
) -> dict[str, Any]:
    """The EKS CreateNodegroup request for `pool`, in the EKS API's own (camelCase) shape."""
    request: dict[str, Any] = {
        "clusterName": cluster_name,
        "nodegroupName": pool.name,
        "scalingConfig": {
            "minSize": pool.scaling.min,
            "maxSize": pool.scaling.max,
            "desiredSize": pool.scaling.desired_size,
        },
        "diskSize": pool.effective_disk_size(),
        "subnets": list(pool.subnet_ids or subnet_ids),
        "instanceTypes": list(pool.instance_types),
        "amiType": pool.ami().name,
        "nodeRole": pool.node_role_arn or node_role_arn,
        "labels": pool.node_labels(contract),
        "taints": [t.to_eks() for t in pool.node_taints(contract)],
        "updateConfig": pool.update.to_eks(),
        "capacityType": pool.capacity_type,
        "tags": {"gpu-node-pools.io/pool": pool.name, "gpu-node-pools.io/pool-kind": pool.kind, **pool.tags},
    }
    version = pool.kubernetes_version or kubernetes_version
    if version:
        request["version"] = version
    return request
