"""The in-cluster layer of a stack as plain Kubernetes objects, in the order they can be applied."""

from __future__ import annotations

from typing import Any

from ..aws.karpenter_interruption import interruption_queue_name
from ..config.cluster import EksClusterConfig
from ..config.platform import PlatformConfig, cluster_kubernetes_version
from .device_plugin import build_device_plugin
from .ec2_node_class import build_ec2_node_class
from .karpenter import EKS_NODE_CLASS_REF, KWOK_NODE_CLASS_REF, build_node_pools
from .karpenter_controller import build_karpenter_controller
from .karpenter_crds import karpenter_crds
from .metrics_server import build_metrics_server
from ..alerts.operator import build_monitoring
from .node_agent import build_node_agent
from .priority_classes import build_priority_classes
from .tenants import build_tenants

__all__ = [
    "APPLY_ORDER", "INSTANCE_PROFILE_PLACEHOLDER", "default_node_class_ref", "in_cluster_objects", "karpenter_objects",
    "object_id",
]

# The EC2NodeClass names an instance profile the stack creates on deploy, under a name only AWS knows until then.
INSTANCE_PROFILE_PLACEHOLDER = "<created on deploy: Karpenter node instance profile>"

# Cluster-wide and container objects first, so namespaced objects find their namespace and roles exist.
APPLY_ORDER = (
    "CustomResourceDefinition",
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
    "PrometheusRule",
    "PodMonitor",
    "EC2NodeClass",
    # Last: the DaemonSets that must land on its nodes (device plugin, agent) exist before the first node does.
    "NodePool",
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
        *karpenter_objects(config),
        *build_node_pools(config.node_pools, contract, default_node_class_ref(config)),
        *build_monitoring(config.alerts, config.node_agent),
    ]
    rank = {kind: i for i, kind in enumerate(APPLY_ORDER)}
    return sorted(objects, key=lambda o: rank.get(o["kind"], len(APPLY_ORDER)))


def karpenter_objects(config: PlatformConfig) -> list[dict[str, Any]]:
    """Karpenter's CRDs, controller and EC2NodeClass on an EKS stack that enables it (the `Karpenter` component
    declares the same objects, with the instance profile's real name)."""
    cluster = config.cluster
    if not (config.karpenter.enabled and isinstance(cluster, EksClusterConfig)):
        return []
    karpenter = config.karpenter
    queue = interruption_queue_name(cluster.name) if karpenter.interruption_queue.enabled else None
    return [
        *karpenter_crds(karpenter.version),
        *build_karpenter_controller(karpenter, cluster_name=cluster.name, interruption_queue=queue),
        build_ec2_node_class(
            karpenter.node_class, cluster_name=cluster.name, instance_profile=INSTANCE_PROFILE_PLACEHOLDER
        ),
    ]


def default_node_class_ref(config: PlatformConfig) -> dict[str, str]:
    """The NodeClass elastic pools boot from unless they name one: the EKS layer's EC2NodeClass on EKS; on an
    existing cluster, the KWOKNodeClass the local cluster installs (scripts/cluster.sh)."""
    return dict(EKS_NODE_CLASS_REF if config.on_eks else KWOK_NODE_CLASS_REF)


def object_id(obj: dict[str, Any]) -> str:
    """`Kind/namespace/name` (or `Kind/name` for cluster-scoped objects): unique within a stack."""
    meta = obj["metadata"]
    return "/".join(p for p in (obj["kind"], meta.get("namespace"), meta["name"]) if p)
