"""The in-cluster components. Each builds its objects with a pure function and hands them to Pulumi.

They take the Kubernetes provider through `opts` (`ResourceOptions(provider=...)`) like any Pulumi component,
so another project can deploy a single one into a cluster it already manages.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Callable, Generic, TypeVar

import pulumi

from ..config.alerts import AlertsConfig
from ..config.device_plugin import DevicePluginConfig
from ..config.metrics_server import MetricsServerConfig
from ..config.node_agent import NodeAgentConfig
from ..config.node_pool import NodePoolConfig
from ..config.priority_classes import PriorityLadderConfig
from ..config.tenants import TenantNamespaceConfig
from ..contract import IsolationContract
from ..manifests.device_plugin import build_device_plugin
from ..manifests.karpenter import EKS_NODE_CLASS_REF, build_node_pools
from ..manifests.metrics_server import build_metrics_server
from ..alerts.operator import build_monitoring
from ..manifests.node_agent import build_node_agent
from ..manifests.priority_classes import build_priority_classes
from ..manifests.tenants import build_tenants
from ._k8s_resources import declare_objects

__all__ = [
    "AddonArgs",
    "DevicePlugin",
    "ElasticPools",
    "ElasticPoolsArgs",
    "MetricsServer",
    "MetricsServerArgs",
    "Monitoring",
    "MonitoringArgs",
    "NodeAgent",
    "PriorityClasses",
    "WorkloadNamespaces",
]

ConfigT = TypeVar("ConfigT")


@dataclass(frozen=True)
class AddonArgs(Generic[ConfigT]):
    """A component's config model and the isolation contract it fences itself with."""

    config: ConfigT
    contract: IsolationContract = field(default_factory=IsolationContract)


@dataclass(frozen=True)
class MetricsServerArgs(AddonArgs[MetricsServerConfig]):
    """`kubernetes_version` picks the metrics-server release that supports the cluster (None: the default)."""

    kubernetes_version: str | None = None


@dataclass(frozen=True)
class ElasticPoolsArgs(AddonArgs[list[NodePoolConfig]]):
    """The stack's pools (managed ones are skipped) and the NodeClass elastic pools boot from unless they name one."""

    node_class_ref: dict[str, str] = field(default_factory=lambda: dict(EKS_NODE_CLASS_REF))


@dataclass(frozen=True)
class MonitoringArgs(AddonArgs[AlertsConfig]):
    """`node_agent` says where the agent runs (namespace, port) for the PodMonitor and the rules' namespace."""

    node_agent: NodeAgentConfig = field(default_factory=NodeAgentConfig)


class _ObjectsComponent(pulumi.ComponentResource):
    """Declares the objects `build(config, contract)` returns; outputs their `Kind/namespace/name` ids."""

    _type: str
    objects: list[dict[str, Any]]
    resources: dict[str, pulumi.CustomResource]

    def __init__(
        self,
        name: str,
        args: AddonArgs[Any],
        build: Callable[[Any, IsolationContract], list[dict[str, Any]]],
        opts: pulumi.ResourceOptions | None,
    ) -> None:
        super().__init__(self._type, name, None, opts)
        self.objects = build(args.config, args.contract)
        self.resources = declare_objects(self.objects, self)
        self.object_ids = sorted(self.resources)
        self.register_outputs({"object_ids": self.object_ids})


class DevicePlugin(_ObjectsComponent):
    """NVIDIA's device plugin DaemonSet: on GPU nodes only, tolerating the GPU taint."""

    _type = "gpu-node-pools:index:DevicePlugin"

    def __init__(self, name: str, args: AddonArgs[DevicePluginConfig], opts: pulumi.ResourceOptions | None = None):
        super().__init__(name, args, build_device_plugin, opts)


class MetricsServer(_ObjectsComponent):
    """metrics-server (so `kubectl top` works), kept off GPU nodes."""

    _type = "gpu-node-pools:index:MetricsServer"

    def __init__(self, name: str, args: MetricsServerArgs, opts: pulumi.ResourceOptions | None = None):
        build = functools.partial(build_metrics_server, kubernetes_version=args.kubernetes_version)
        super().__init__(name, args, build, opts)


class PriorityClasses(_ObjectsComponent):
    """The priority ladder for GPU work and a general default."""

    _type = "gpu-node-pools:index:PriorityClasses"

    def __init__(self, name: str, args: AddonArgs[PriorityLadderConfig], opts: pulumi.ResourceOptions | None = None):
        super().__init__(name, args, build_priority_classes, opts)


class WorkloadNamespaces(_ObjectsComponent):
    """Tenant namespaces with guardrails: LimitRange defaults, quota, Pod Security, optional default-deny."""

    _type = "gpu-node-pools:index:WorkloadNamespaces"

    def __init__(
        self, name: str, args: AddonArgs[list[TenantNamespaceConfig]], opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__(name, args, build_tenants, opts)


class NodeAgent(_ObjectsComponent):
    """The NVML node agent DaemonSet, its RBAC and its per-node admission policy."""

    _type = "gpu-node-pools:index:NodeAgent"

    def __init__(self, name: str, args: AddonArgs[NodeAgentConfig], opts: pulumi.ResourceOptions | None = None):
        super().__init__(name, args, build_node_agent, opts)


class ElasticPools(_ObjectsComponent):
    """Karpenter NodePools of the elastic GPU pools. Needs Karpenter's CRDs (and, to act, its controller) and the
    NodeClass they name: on EKS the Karpenter component supplies both; locally scripts/cluster.sh does."""

    _type = "gpu-node-pools:index:ElasticPools"

    def __init__(self, name: str, args: ElasticPoolsArgs, opts: pulumi.ResourceOptions | None = None):
        build = functools.partial(build_node_pools, default_node_class_ref=args.node_class_ref)
        super().__init__(name, args, build, opts)


class Monitoring(_ObjectsComponent):
    """prometheus-operator objects (opt-in): the alert rules as a PrometheusRule, a PodMonitor for the agent."""

    _type = "gpu-node-pools:index:Monitoring"

    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(name, args, lambda alerts, _contract: build_monitoring(alerts, args.node_agent), opts)
