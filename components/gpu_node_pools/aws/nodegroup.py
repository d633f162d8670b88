"""A node pool's EKS CreateNodegroup request, in the EKS API's own (camelCase) shape.

`nodegroup_request` is the single source of what a pool is on EKS: `gpu-node-pools pools --json` prints it,
the tests validate it against botocore's EKS model, and the `NodePool` component feeds it to
`aws.eks.NodeGroup`. The pool's disk lives in its launch template (`aws.launch_template`), which the request
names: EKS rejects `diskSize` together with a launch template.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from ..config.node_pool import NodePoolConfig
from ..contract import POOL_KIND_LABEL, POOL_LABEL, IsolationContract

__all__ = [
    "DesiredSizePlan",
    "LiveNodeGroup",
    "NAME_SUFFIX_PLACEHOLDER",
    "desired_size_plan",
    "nodegroup_name_prefix",
    "nodegroup_request",
    "protected_replacement_problem",
    "replacing_changes",
    "pool_tags",
]

# The provider appends a unique suffix to the prefix when it creates the group; shown as this until then.
NAME_SUFFIX_PLACEHOLDER = "<unique suffix>"


class LiveNodeGroup(NamedTuple):
    """What the program reads of a pool's live node group (DescribeNodegroup); None where EKS says nothing."""

    desired: int
    instance_types: tuple[str, ...] | None = None
    ami_type: str | None = None
    capacity_type: str | None = None
    subnet_ids: tuple[str, ...] | None = None


class DesiredSizePlan(NamedTuple):
    """The desired size to send, and whether to leave the live one alone (the cluster autoscaler owns it)."""

    desired: int
    ignore_desired: bool


def pool_tags(pool: NodePoolConfig) -> dict[str, str]:
    """Our identity tags (the same keys as the pool labels), which find a pool's AWS resources again."""
    return {POOL_LABEL: pool.name, POOL_KIND_LABEL: pool.kind}


def nodegroup_name_prefix(pool: NodePoolConfig) -> str:
    """Node groups are named from a prefix, so a replacement (new instance types, AMI type, capacity type,
    subnets) is created before the old group is deleted instead of taking the whole pool down first."""
    return f"{pool.name}-"


def replacing_changes(pool: NodePoolConfig, live: LiveNodeGroup, cluster_subnet_ids: list[str]) -> list[str]:
    """The config keys whose new value EKS can't apply in place, so that the node group is replaced (a new group
    from the name prefix first, then the old one deleted); [] when the group is updated in place."""
    wanted = {
        "instanceTypes": (live.instance_types, tuple(pool.instance_types)),
        "amiType": (live.ami_type, pool.ami().name),
        "capacityType": (live.capacity_type, pool.capacity_type),
        "subnetIds": (live.subnet_ids and tuple(sorted(live.subnet_ids)),
                      tuple(sorted(pool.subnet_ids or cluster_subnet_ids))),
    }
    return [key for key, (now, new) in wanted.items() if now is not None and now != new]


def protected_replacement_problem(pool: NodePoolConfig, changes: list[str]) -> str | None:
    """Why a protected pool's change can't go through: Pulumi won't delete a protected node group, not even the
    old one of a replacement, so `pulumi up` would stop after creating the new group, with both running."""
    if not (pool.protect and changes):
        return None
    return (f"node pool {pool.name} is protected, and changing {', '.join(changes)} replaces its node group, "
            "which deletes the old one: set protect: false on this pool for the change, run `pulumi up`, then set "
            "it back")


def desired_size_plan(pool: NodePoolConfig, live_desired: int | None) -> DesiredSizePlan:
    """What to send as desiredSize, given the live group's (None: no live group yet).

    desiredSize is normally ignored after creation. But EKS rejects a scaling config whose live desired size falls
    outside the new [min, max], so when the config moves a bound past it, the desired size is sent after all: the
    configured one (at least min) when min rose above it, max when max fell below it.
    """
    scaling = pool.node_scaling
    if live_desired is not None and live_desired < scaling.min:
        return DesiredSizePlan(scaling.desired_size, ignore_desired=False)  # max(min, desired): desired >= min
    if live_desired is not None and live_desired > scaling.max:
        return DesiredSizePlan(scaling.max, ignore_desired=False)
    return DesiredSizePlan(scaling.desired_size, ignore_desired=True)


def nodegroup_request(
    pool: NodePoolConfig,
    contract: IsolationContract,
    *,
    cluster_name: str,
    subnet_ids: list[str],
    node_role_arn: str,
    launch_template: dict[str, str],
    kubernetes_version: str | None = None,
    desired_size: int | None = None,
) -> dict[str, Any]:
    """The EKS CreateNodegroup request for `pool`, in the EKS API's own (camelCase) shape.

    `launch_template` is `{"id": ..., "version": ...}`; `desired_size` overrides the pool's initial size (see
    `desired_size_plan`).
    """
    request: dict[str, Any] = {
        "clusterName": cluster_name,
        "nodegroupName": nodegroup_name_prefix(pool) + NAME_SUFFIX_PLACEHOLDER,
        "scalingConfig": {
            "minSize": pool.node_scaling.min,
            "maxSize": pool.node_scaling.max,
            "desiredSize": pool.node_scaling.desired_size if desired_size is None else desired_size,
        },
        "subnets": list(pool.subnet_ids or subnet_ids),
        "instanceTypes": list(pool.instance_types),
        "amiType": pool.ami().name,
        "nodeRole": pool.node_role_arn or node_role_arn,
        "labels": pool.node_labels(contract),
        "taints": [t.to_eks() for t in pool.node_taints(contract)],
        "launchTemplate": dict(launch_template),
        "updateConfig": pool.update.to_eks(),
        "capacityType": pool.capacity_type,
        "tags": {**pool_tags(pool), **pool.tags},
    }
    if pool.kind == "gpu":
        # EKS replaces a GPU node whose AcceleratedHardwareReady condition (the node agent's, or the node monitoring
        # agent's) stays False, or that goes NotReady; its default thresholds pace the repairs.
        request["nodeRepairConfig"] = {"enabled": True}
    version = pool.kubernetes_version or kubernetes_version
    if version:
        request["version"] = version
    return request
