"""gpu-node-pools: Pulumi components for isolated, observable, safe-by-default GPU node pools.

Import the whole platform (`GpuPlatform`) or a single component (`NodePool`, `DevicePlugin`, ...), each with its
args model (`DevicePluginArgs`, ...) or the config models they are made of. Names are loaded on first use, so the
command line and the pure parts don't pay for importing pulumi_aws.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "AlertsConfig",
    "Cluster",
    "ConfigError",
    "DevicePlugin",
    "DevicePluginArgs",
    "DevicePluginConfig",
    "ElasticNodePool",
    "ElasticNodePoolArgs",
    "GpuPlatform",
    "IsolationContract",
    "MetricsServer",
    "MetricsServerArgs",
    "MetricsServerConfig",
    "Monitoring",
    "MonitoringArgs",
    "NodeAgent",
    "NodeAgentArgs",
    "NodeAgentConfig",
    "NodePool",
    "NodePoolArgs",
    "NodePoolConfig",
    "PlatformConfig",
    "PriorityClasses",
    "PriorityClassesArgs",
    "PriorityLadderConfig",
    "Taint",
    "TenantNamespaceConfig",
    "WorkloadNamespaces",
    "WorkloadNamespacesArgs",
    "load_stack",
    "parse_platform_config",
]

_EXPORTS = {
    "IsolationContract": "contract",
    "Taint": "contract",
    "ConfigError": "config.platform",
    "PlatformConfig": "config.platform",
    "parse_platform_config": "config.platform",
    "load_stack": "config.stack_files",
    "NodePoolConfig": "config.node_pool",
    "AlertsConfig": "config.alerts",
    "DevicePluginConfig": "config.device_plugin",
    "MetricsServerConfig": "config.metrics_server",
    "NodeAgentConfig": "config.node_agent",
    "PriorityLadderConfig": "config.priority_classes",
    "TenantNamespaceConfig": "config.tenants",
    "DevicePluginArgs": "config.component_args",
    "ElasticNodePoolArgs": "config.component_args",
    "MetricsServerArgs": "config.component_args",
    "MonitoringArgs": "config.component_args",
    "NodeAgentArgs": "config.component_args",
    "NodePoolArgs": "config.component_args",
    "PriorityClassesArgs": "config.component_args",
    "WorkloadNamespacesArgs": "config.component_args",
    "DevicePlugin": "pulumi_components.in_cluster",
    "ElasticNodePool": "pulumi_components.in_cluster",
    "MetricsServer": "pulumi_components.in_cluster",
    "Monitoring": "pulumi_components.in_cluster",
    "NodeAgent": "pulumi_components.in_cluster",
    "PriorityClasses": "pulumi_components.in_cluster",
    "WorkloadNamespaces": "pulumi_components.in_cluster",
    "Cluster": "pulumi_components.cluster",
    "GpuPlatform": "pulumi_components.platform",
    "NodePool": "pulumi_components.node_pool",
}


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
