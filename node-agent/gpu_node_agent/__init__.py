"""gpu-node-agent: GPU facts and coarse live state as low-churn node labels, exact values as metrics.

The agent reads NVML once per cycle into a frozen `NodeSnapshot`; everything after that is pure: label
sources, the churn policy, the metrics collector. The edges (NVML, Kubernetes, HTTP) are thin adapters.
"""

from .snapshot import GpuSnapshot, NodeSnapshot

__all__ = ["GpuSnapshot", "NodeSnapshot", "__version__"]

__version__ = "0.1.0"
