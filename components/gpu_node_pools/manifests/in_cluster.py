"""The in-cluster layer of a stack as plain Kubernetes objects, in the order they can be applied."""

from __future__ import annotations

from typing import Any

from ..config.platform import PlatformConfig, cluster_kubernetes_version
from .device_plugin import build_device_plugin
from .metrics_server import build_metrics_server
from .node_agent import build_node_agent
from .priority_classes import build_priority_classes
from .tenants import build_tenants

__all__ = ["APPLY_ORDER", "in_cluster_objects", "object_id"]

# Cluster-wide and container objects first, so namespaced objects find their namespace and roles exist.
APPLY_ORDER = (
    "PriorityClass",
    "Namespace",
    "ServiceAccount",
    "ClusterRole",
    "ClusterRoleBinding",
    "Role",
    "RoleBinding",
    "ConfigMap",
    "LimitRange",
    "ResourceQuota",
    "NetworkPolicy",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "Service",
    "DaemonSet",
    "Deployment",
    "PodDisruptionBudget",
    "APIService",
)


def in_cluster_objects(config: PlatformConfig) -> list[dict[str, Any]]:
    """Every object of the in-cluster layer, sorted for apply. Disabled parts contribute nothing."""
    contract = config.contract
    objects = [
        *build_priority_classes(config.priority_classes, contract),
        *build_tenants(config.tenants, contract),
        *build_device_plugin(config.device_plugin, contract),
        *build_metrics_server(
            config.metrics_server, contract, kubernetes_version=cluster_kubernetes_version(config)
        ),
        *build_node_agent(config.node_agent, contract),
    ]
    rank = {kind: i for i, kind in enumerate(APPLY_ORDER)}
    return sorted(objects, key=lambda o: rank.get(o["kind"], len(APPLY_ORDER)))


def object_id(obj: dict[str, Any]) -> str:
    """`Kind/namespace/name` (or `Kind/name` for cluster-scoped objects): unique within a stack."""
    meta = obj["metadata"]
    return "/".join(p for p in (obj["kind"], meta.get("namespace"), meta["name"]) if p)
