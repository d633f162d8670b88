"""A cluster's live node groups (desired size, and what a change would replace): the program's one read of AWS,
kept at this edge."""

from __future__ import annotations

import pulumi_aws as aws

from ..aws.nodegroup import LiveNodeGroup
from ..contract import POOL_LABEL

__all__ = ["live_desired_sizes", "live_node_groups"]

# How EKS answers ListNodegroups for a cluster that doesn't exist (yet): the provider passes the error on.
_NO_CLUSTER = "ResourceNotFoundException"


def live_desired_sizes(cluster_name: str) -> dict[str, int]:
    """Pool name -> desired size of its live node group, matched by the pool tag; {} while there is no cluster."""
    return {pool: group.desired for pool, group in live_node_groups(cluster_name).items()}


def live_node_groups(cluster_name: str) -> dict[str, LiveNodeGroup]:
    """Pool name -> its live node group, matched by the pool tag; {} while there is no cluster."""
    try:
        names = aws.eks.get_node_groups(cluster_name=cluster_name).names
    except Exception as error:  # the invoke's only error type
        if _NO_CLUSTER in str(error):
            return {}
        raise
    groups: dict[str, LiveNodeGroup] = {}
    for name in names or []:
        group = aws.eks.get_node_group(cluster_name=cluster_name, node_group_name=name)
        pool = (group.tags or {}).get(POOL_LABEL)
        if pool is None or not group.scaling_configs:
            continue  # not one of ours
        live = LiveNodeGroup(
            desired=group.scaling_configs[0].desired_size,
            instance_types=tuple(group.instance_types) if group.instance_types else None,
            ami_type=group.ami_type or None,
            capacity_type=group.capacity_type or None,
            subnet_ids=tuple(group.subnet_ids) if group.subnet_ids else None,
        )
        # While a replacement is under way two groups carry the pool; plan for the smaller (a sent size is valid).
        if pool not in groups or live.desired < groups[pool].desired:
            groups[pool] = live
    return groups
