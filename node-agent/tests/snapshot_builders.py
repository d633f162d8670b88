"""Readable snapshot builders, shared by the tests: `gpu(name=..., memory_mib=...)`, `node(gpu(), gpu())`."""

from __future__ import annotations

from typing import Any

from gpu_node_agent.snapshot import GpuSnapshot, NodeSnapshot

MIB = 1024 * 1024
PREFIX = "node-agent.gpu-node-pools.io/"


def gpu(
    index: int = 0,
    *,
    name: str = "NVIDIA H100 80GB HBM3",
    memory_mib: int = 81559,
    used_mib: int = 0,
    util: int | None = 0,
    capability: tuple[int, int] | None = (9, 0),
    **extra: Any,
) -> GpuSnapshot:
    return GpuSnapshot(
        index=index,
        uuid=f"GPU-{index}",
        name=name,
        memory_total_bytes=memory_mib * MIB,
        memory_used_bytes=used_mib * MIB,
        memory_free_bytes=(memory_mib - used_mib) * MIB,
        utilization_gpu_percent=util,
        compute_capability=capability,
        mig_capable=extra.pop("mig_capable", True),
        **extra,
    )


def node(*gpus: GpuSnapshot, driver: str | None = "550.54.15", cuda: int | None = 12040, **extra: Any) -> NodeSnapshot:
    return NodeSnapshot(gpus=gpus, driver_version=driver, cuda_driver_version=cuda, **extra)
