"""One recommendation per workload, from its usage alone: release, share, smaller-gpu or keep, with the reason.

The rules, in order (docs/rightsizing.md, "The rightsize report"):
1. `release`: idle (utilization under IDLE_UTILIZATION) for at least RELEASE_IDLE_SHARE of the time it held GPUs.
2. `share`: a slice fits the peak memory with MEMORY_HEADROOM and p95 utilization: on a MIG-capable GPU the
   fitting MIG profile below the whole GPU that takes the smallest share of it; else (or if none fits)
   time-slicing with the most replicas whose share of memory and time still fits (2 to MAX_REPLICAS).
3. `smaller-gpu`: the cheapest GPU model (same CPU architecture) whose memory fits with headroom, when p95
   utilization is at most SMALLER_GPU_MAX_P95 (a busy GPU moved to a slower one would take longer).
4. `keep`: none of these fits.
Savings are the workload's monthly cost times the share it would no longer pay for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .gpus import GpuModel, cheaper_models
from .slices import mig_slices

__all__ = [
    "IDLE_UTILIZATION", "MAX_REPLICAS", "MEMORY_HEADROOM", "RELEASE_IDLE_SHARE", "SMALLER_GPU_MAX_P95",
    "Recommendation", "Usage", "recommend",
]

IDLE_UTILIZATION = 0.05  # a step under 5 % utilization is idle
RELEASE_IDLE_SHARE = 0.9  # idle 90 % of the held time: give the GPU back
MEMORY_HEADROOM = 1.2  # a slice must hold the peak plus 20 %
_HEADROOM = f"{round((MEMORY_HEADROOM - 1) * 100)} % headroom"
MAX_REPLICAS = 8  # time-slicing slices per GPU considered
SMALLER_GPU_MAX_P95 = 0.6

Action = Literal["release", "share", "smaller-gpu", "keep"]
GIB = 1024**3


@dataclass(frozen=True)
class Usage:
    """A workload's use of its GPUs over the window."""

    model: GpuModel | None  # None: a GPU the instance table does not know (no price, no advice)
    memory_total_bytes: float  # of one of its GPUs
    utilization_mean: float | None  # None on MIG slices: NVML reads no utilization per MIG device
    utilization_p95: float | None
    idle_share: float | None
    memory_peak_bytes: float
    mig_profile: str = ""  # the MIG slice it already runs on, if any


@dataclass(frozen=True)
class Recommendation:
    action: Action
    target: str  # "mig 3g.40gb", "time-slicing x4", "NVIDIA L4 (g6.xlarge)", ""
    reason: str
    saving_share: float  # of the workload's cost


def _gib(value: float) -> str:
    return f"{value / GIB:.1f} GiB"


def _share(usage: Usage, p95: float, needed: float) -> Recommendation | None:
    model_name = usage.model.name if usage.model else ""
    for mig in mig_slices(model_name):
        memory = usage.memory_total_bytes * mig.memory_share
        if memory >= needed and mig.compute_share >= p95:
            return Recommendation(
                "share", f"mig {mig.profile}",
                f"peak memory {_gib(usage.memory_peak_bytes)} and p95 utilization {p95:.0%} fit MIG {mig.profile} "
                f"({_gib(memory)}, {mig.compute_slices}/{mig.gpu_compute_slices} of the compute) with {_HEADROOM}",
                1 - mig.share)
    for replicas in range(MAX_REPLICAS, 1, -1):
        memory = usage.memory_total_bytes / replicas
        if memory >= needed and 1 / replicas >= p95:
            return Recommendation(
                "share", f"time-slicing x{replicas}",
                f"peak memory {_gib(usage.memory_peak_bytes)} and p95 utilization {p95:.0%} fit 1/{replicas} of the "
                f"GPU ({_gib(memory)}) with {_HEADROOM}; time-slicing does not isolate memory or faults",
                1 - 1 / replicas)
    return None


def recommend(usage: Usage) -> Recommendation:
    if usage.mig_profile:
        return Recommendation("keep", "", f"already on MIG slice {usage.mig_profile}", 0.0)
    if usage.model is None:
        return Recommendation("keep", "", "GPU model not in the instance table: no price to compare", 0.0)
    if usage.idle_share is None or usage.utilization_p95 is None:
        return Recommendation("keep", "", "no utilization series", 0.0)
    if usage.idle_share >= RELEASE_IDLE_SHARE:
        return Recommendation(
            "release", "",
            f"idle (under {IDLE_UTILIZATION:.0%} utilization) {usage.idle_share:.0%} of the time it held GPUs", 1.0)
    p95, needed = usage.utilization_p95, usage.memory_peak_bytes * MEMORY_HEADROOM
    shared = _share(usage, p95, needed)
    if shared is not None:
        return shared
    if p95 <= SMALLER_GPU_MAX_P95:
        for model in cheaper_models(usage.model):
            if model.memory_mib * 1024**2 >= needed:
                return Recommendation(
                    "smaller-gpu", f"{model.name} ({model.instance_type})",
                    f"peak memory {_gib(usage.memory_peak_bytes)} fits a {model.name} "
                    f"({_gib(model.memory_mib * 1024**2)}) with {_HEADROOM} at p95 utilization {p95:.0%}; "
                    f"${model.usd_hour:.2f} instead of ${usage.model.usd_hour:.2f} a GPU-hour",
                    1 - model.usd_hour / usage.model.usd_hour)
    if usage.idle_share >= 0.5:
        why = (f"busy in bursts (p95 utilization {p95:.0%}) and idle {usage.idle_share:.0%} of the time: "
               "a slice would slow the bursts; an elastic pool gives the GPU back between them if the workload exits")
    else:
        why = f"p95 utilization {p95:.0%} and peak memory {_gib(usage.memory_peak_bytes)} need the whole GPU"
    return Recommendation("keep", "", why, 0.0)
