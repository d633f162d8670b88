"""The isolation contract: the one piece of data every component derives its GPU fencing from.

A GPU pool's taint, the tolerations of GPU daemons, and the affinities that keep general add-ons off GPU
nodes are all computed here from a single `IsolationContract`, so a taint and its tolerations can never drift
apart. Tolerations use `operator: Exists` on the key: changing the taint's value (``true`` -> ``present``)
never leaves a DaemonSet with DESIRED 0 (k8s-device-plugin #1934, dcgm-exporter #731).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "BUILTIN_DEVICE_PLUGIN_LABEL",
    "DEFAULT_GPU_TAINT",
    "EKS_TAINT_EFFECTS",
    "GPU_PRESENT_LABEL",
    "POOL_KIND_LABEL",
    "POOL_LABEL",
    "IsolationContract",
    "Taint",
    "TaintEffect",
]

TaintEffect = Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]

# Kubernetes taint effect -> the EKS API's spelling of it (CreateNodegroup `taints[].effect`).
EKS_TAINT_EFFECTS: dict[str, str] = {
    "NoSchedule": "NO_SCHEDULE",
    "PreferNoSchedule": "PREFER_NO_SCHEDULE",
    "NoExecute": "NO_EXECUTE",
}

# The label the device plugin's chart (and terraform-aws-eks) use to find GPU nodes.
GPU_PRESENT_LABEL = "nvidia.com/gpu.present"
# Our own pool labels, set by the node group on every node it launches.
POOL_LABEL = "gpu-node-pools.io/pool"
POOL_KIND_LABEL = "gpu-node-pools.io/pool-kind"
# On nodes whose image runs NVIDIA's device plugin itself (Bottlerocket NVIDIA AMIs): ours must stay off them,
# or two plugins would advertise the same GPUs.
BUILTIN_DEVICE_PLUGIN_LABEL = "gpu-node-pools.io/builtin-device-plugin"


@dataclass(frozen=True)
class Taint:
    """A node taint, in Kubernetes' own spelling."""

    key: str
    value: str
    effect: TaintEffect

    def to_k8s(self) -> dict[str, str]:
        return {"key": self.key, "value": self.value, "effect": self.effect}

    def to_eks(self) -> dict[str, str]:
        return {"key": self.key, "value": self.value, "effect": EKS_TAINT_EFFECTS[self.effect]}

    def __str__(self) -> str:
        return f"{self.key}={self.value}:{self.effect}"


DEFAULT_GPU_TAINT = Taint(key="nvidia.com/gpu", value="true", effect="NoSchedule")


@dataclass(frozen=True)
class IsolationContract:
    """How GPU nodes are fenced: the taint they carry and the labels that identify them."""

    gpu_taint: Taint = field(default=DEFAULT_GPU_TAINT)

    # --- node side -------------------------------------------------------------------------------------
    def node_labels(self, pool_name: str, *, gpu: bool) -> dict[str, str]:
        """Labels a node of `pool_name` carries (set by its node group, or by the simulated node)."""
        labels = {POOL_LABEL: pool_name, POOL_KIND_LABEL: "gpu" if gpu else "general"}
        if gpu:
            labels[GPU_PRESENT_LABEL] = "true"
        return labels

    def node_taints(self, *, gpu: bool) -> list[Taint]:
        return [self.gpu_taint] if gpu else []

    # --- pod side ----------------------------------------------------------------------------------------
    def gpu_toleration(self) -> dict[str, str]:
        """Tolerates the GPU taint whatever its value."""
        return {"key": self.gpu_taint.key, "operator": "Exists", "effect": self.gpu_taint.effect}

    def gpu_node_affinity(self) -> dict[str, Any]:
        """Required node affinity to GPU nodes only."""
        return _required_affinity({"key": GPU_PRESENT_LABEL, "operator": "In", "values": ["true"]})

    def device_plugin_node_affinity(self) -> dict[str, Any]:
        """GPU nodes whose image does not bring its own device plugin."""
        return _required_affinity(
            {"key": GPU_PRESENT_LABEL, "operator": "In", "values": ["true"]},
            {"key": BUILTIN_DEVICE_PLUGIN_LABEL, "operator": "NotIn", "values": ["true"]},
        )

    def general_node_affinity(self) -> dict[str, Any]:
        """Required node affinity away from GPU nodes (also matches nodes without the label)."""
        return _required_affinity({"key": GPU_PRESENT_LABEL, "operator": "NotIn", "values": ["true"]})

    def gpu_daemon_scheduling(self) -> dict[str, Any]:
        """Pod-spec fields for a daemon that must run on every GPU node and nowhere else."""
        return {"tolerations": [self.gpu_toleration()], "affinity": self.gpu_node_affinity()}

    def gpu_workload_scheduling(self) -> dict[str, Any]:
        """Pod-spec fields for a user GPU workload: tolerate the fence, and land only behind it."""
        return self.gpu_daemon_scheduling()

    def general_addon_scheduling(self) -> dict[str, Any]:
        """Pod-spec fields for a general add-on: no GPU toleration, and affinity away from GPU nodes."""
        return {"affinity": self.general_node_affinity()}

    def tolerates_gpu_taint(self, tolerations: list[dict[str, Any]] | None) -> bool:
        """True when `tolerations` let a pod onto a node carrying the GPU taint."""
        return any(_tolerates(t, self.gpu_taint) for t in tolerations or [])


def _required_affinity(*expressions: dict[str, Any]) -> dict[str, Any]:
    """Affinity to nodes matching every expression (one node selector term)."""
    return {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchExpressions": list(expressions)}]
            }
        }
    }


def _tolerates(toleration: dict[str, Any], taint: Taint) -> bool:
    """Kubernetes' own matching rule (k8s.io/api/core/v1 Toleration.ToleratesTaint)."""
    if toleration.get("effect") and toleration["effect"] != taint.effect:
        return False
    operator = toleration.get("operator", "Equal")
    key = toleration.get("key", "")
    if operator == "Exists":
        return key in ("", taint.key)
    return bool(key == taint.key and toleration.get("value", "") == taint.value)
