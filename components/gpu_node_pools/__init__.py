"""gpu-node-pools: Pulumi components for isolated, observable, safe-by-default GPU node pools.

Import the whole platform (`GpuPlatform`) or a single component (`NodePool`, `DevicePlugin`, ...). Names
are loaded on first use, so the command line and the pure parts don't pay for importing pulumi_aws.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "AddonArgs",
    "AlertsConfig",
    "Cluster",
    "ConfigError",
    "DevicePlugin",
    "DevicePluginConfig",
    "GpuPlatform",
    "IsolationContract",
    "MetricsServer",
    "MetricsServerArgs",
    "MetricsServerConfig",
    "Monitoring",
    "NodeAgent",
    "NodeAgentConfig",
    "NodePool",
    "NodePoolArgs",
    "NodePoolConfig",
    "PlatformConfig",
    "PriorityClasses",
    "PriorityLadderConfig",
    "Taint",
    "TenantNamespaceConfig",
    "WorkloadNamespaces",
    "load_stack",
    "parse_platform_config",
]

_EXPORTS = {
    "IsolationContract": "contract",
    "Taint": "contract",
    "ConfigError": "config.platform",
    "PlatformConfig": "config.platform",
    "load_stack": "config.stack_files",
    "parse_platform_config": "config.platform",
    "NodePoolConfig": "config.node_pool",
    "AlertsConfig": "config.alerts",
    "DevicePluginConfig": "config.device_plugin",
    "MetricsServerConfig": "config.metrics_server",
    "NodeAgentConfig": "config.node_agent",
    "PriorityLadderConfig": "config.priority_classes",
    "TenantNamespaceConfig": "config.tenants",
    "AddonArgs": "pulumi_components.addons",
    "DevicePlugin": "pulumi_components.addons",
    "MetricsServer": "pulumi_components.addons",
    "MetricsServerArgs": "pulumi_components.addons",
    "NodeAgent": "pulumi_components.addons",
    "Monitoring": "pulumi_components.addons",
    "PriorityClasses": "pulumi_components.addons",
    "WorkloadNamespaces": "pulumi_components.addons",
    "Cluster": "pulumi_components.cluster",
    "GpuPlatform": "pulumi_components.platform",
    "NodePool": "pulumi_components.node_pool",
    "NodePoolArgs": "pulumi_components.node_pool",
}


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
