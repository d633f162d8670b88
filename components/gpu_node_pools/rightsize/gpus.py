"""GPU models as the report prices them, derived from the instance table (facts/instance_types.py): memory, and the
cheapest on-demand price of one GPU of that model (instance price / GPUs, over the instance types that carry it)."""

from __future__ import annotations

from dataclasses import dataclass

from ..facts.instance_types import INSTANCE_TYPES

__all__ = ["GpuModel", "GPU_MODELS", "gpu_model", "cheaper_models"]


@dataclass(frozen=True)
class GpuModel:
    name: str  # NVML's name, as the agent's `modelName` label carries it
    memory_mib: int
    usd_hour: float  # one GPU, on the cheapest instance type per GPU
    instance_type: str  # that instance type
    arch: str


def _models() -> dict[str, GpuModel]:
    best: dict[str, GpuModel] = {}
    for it in INSTANCE_TYPES.values():
        if not it.is_gpu:
            continue
        per_gpu = round(it.usd_hour / it.gpus, 4)
        if it.gpu_model not in best or per_gpu < best[it.gpu_model].usd_hour:
            best[it.gpu_model] = GpuModel(it.gpu_model, it.gpu_memory_mib, per_gpu, it.name, it.arch)
    return best


GPU_MODELS: dict[str, GpuModel] = _models()


def gpu_model(name: str) -> GpuModel | None:
    return GPU_MODELS.get(name)


def cheaper_models(current: GpuModel) -> list[GpuModel]:
    """Models of the same CPU architecture (a workload's image is built for one) that cost less per GPU-hour,
    cheapest first."""
    return sorted((m for m in GPU_MODELS.values() if m.arch == current.arch and m.usd_hour < current.usd_hour),
                  key=lambda m: (m.usd_hour, m.name))
