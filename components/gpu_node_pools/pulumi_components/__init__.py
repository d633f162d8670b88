"""The Pulumi ComponentResources: each hands data built by `config/`, `aws/`, `manifests/` and `alerts/` to a
provider. The same classes serve Python programs and, as the component package (`COMPONENTS`), every other
Pulumi language.

Only this package imports pulumi_aws and pulumi_kubernetes; the command line never loads it.
"""

from __future__ import annotations

import pulumi

from .in_cluster import (
    DevicePlugin,
    ElasticNodePool,
    MetricsServer,
    Monitoring,
    NodeAgent,
    PriorityClasses,
    WorkloadNamespaces,
)
from .node_pool import NodePool
from .platform import GpuPlatform

__all__ = ["COMPONENTS"]

# What the component package serves, in the order of its schema.
COMPONENTS: list[type[pulumi.ComponentResource]] = [
    GpuPlatform, NodePool, ElasticNodePool, DevicePlugin, MetricsServer, PriorityClasses, WorkloadNamespaces,
    NodeAgent, Monitoring,
]
