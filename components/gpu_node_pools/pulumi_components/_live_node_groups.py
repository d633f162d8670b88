"""The live desired sizes of a cluster's node groups: the program's one read of AWS, kept at this edge."""

from __future__ import annotations

import pulumi_aws as aws

from ..contract import POOL_LABEL

__all__ = ["live_desired_sizes"]

# How EKS answers ListNodegroups for a cluster that doesn't exist (yet): the provider passes the error on.
_NO_CLUSTER = "ResourceNotFoundException"


def live_desired_sizes(cluster_name: str) -> dict[str, int]:
    """Pool name -> desired size of its live node group, matched by the pool tag; {} while there is no cluster."""
    try:
        names = aws.eks.get_node_groups(cluster_name=cluster_name).names
    except Exception as error:  # the invoke's only error type
        if _NO_CLUSTER in str(error):
            return {}
        raise
    sizes: dict[str, int] = {}
    for name in names or []:
        group = aws.eks.get_node_group(cluster_name=cluster_name, node_group_name=name)
        pool = (group.tags or {}).get(POOL_LABEL)
        if pool is None or not group.scaling_configs:
            continue  # not one of ours
        desired = group.scaling_configs[0].desired_size
        # While a replacement is under way two groups carry the pool; plan for the smaller (a sent size is valid).
        sizes[pool] = min(desired, sizes.get(pool, desired))
    return sizes
