"""gpu-node-pools: Pulumi components for isolated, observable, safe-by-default GPU node pools.

Import the whole platform (`GpuPlatform`) or a single component (`NodePool`, `DevicePlugin`, ...). Names
are loaded on first use, so the command line and the pure parts don't pay for importing pulumi_aws.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "AddonArgs",
    "Cluster",
    "ConfigError",
    "DevicePlugin",
    "GpuPlatform",
    "IsolationContract",
    "MetricsServer",
    "MetricsServerArgs",
    "Monitoring",
    "NodeAgent",
    "NodePool",
    "NodePoolArgs",
    "NodePoolConfig",
    "PlatformConfig",
    "PriorityClasses",
    "Taint",
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
    "AddonArgs": "components.addons",
    "DevicePlugin": "components.addons",
    "MetricsServer": "components.addons",
    "MetricsServerArgs": "components.addons",
    "NodeAgent": "components.addons",
    "Monitoring": "components.addons",
    "PriorityClasses": "components.addons",
    "WorkloadNamespaces": "components.addons",
    "Cluster": "components.cluster",
    "GpuPlatform": "components.platform",
    "NodePool": "components.node_pool",
    "NodePoolArgs": "components.node_pool",
}


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
