"""The Pulumi ComponentResources: each hands data built by `config/`, `aws/`, `manifests/` and `alerts/` to a
provider. The same classes serve Python programs and, as the component package (`COMPONENTS`), every other
Pulumi language.

Only this package imports pulumi_aws and pulumi_kubernetes; the command line never loads it.
"""

from __future__ import annotations

import pulumi

from .in_cluster import IN_CLUSTER_COMPONENTS
from .node_pool import NodePool
from .platform import GpuPlatform

__all__ = ["COMPONENTS"]

# What the component package serves: the platform, a managed node group, and each in-cluster part's component.
COMPONENTS: list[type[pulumi.ComponentResource]] = [GpuPlatform, NodePool, *IN_CLUSTER_COMPONENTS.values()]
