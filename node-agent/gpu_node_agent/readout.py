"""`readout`: the local GPUs and the labels the agent would write, as a table or JSON. Pure rendering."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from .snapshot import GpuSnapshot, NodeSnapshot

__all__ = ["readout_json", "render_readout", "render_table"]

MIB = 1024 * 1024


def render_table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(c)) for c in column) for column in zip(headers, *rows)]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(line, widths)).rstrip() for line in [headers, *rows]]
    return "\n".join(lines)


def _show(value: object, unit: str = "") -> str:
    return "-" if value is None else f"{value}{unit}"


def _gpu_row(gpu: GpuSnapshot) -> list[str]:
    used = gpu.memory_used_bytes // MIB if gpu.memory_used_bytes is not None else None
    total = gpu.memory_total_bytes // MIB if gpu.memory_total_bytes is not None else None
    capability = ".".join(map(str, gpu.compute_capability)) if gpu.compute_capability else None
    health = "lost" if gpu.lost else ("ok" if gpu.healthy else "errors: " + ",".join(gpu.errors))
    return [
        str(gpu.index),
        gpu.name or "-",
        f"{_show(used)}/{_show(total)} MiB",
        _show(gpu.utilization_gpu_percent, "%"),
        _show(gpu.temperature_celsius, "C"),
        _show(None if gpu.power_watts is None else round(gpu.power_watts), "W"),
        _show(capability),
        {True: "on", False: "off", None: "-"}[gpu.mig_enabled] if gpu.mig_capable else "n/a",
        health,
    ]


def render_readout(snapshot: NodeSnapshot, labels: Mapping[str, str]) -> str:
    header = f"driver {_show(snapshot.driver_version)}  cuda {_cuda(snapshot.cuda_driver_version)}"
    if snapshot.error:
        header += f"  NVML error: {snapshot.error}"
    table = render_table(
        ["GPU", "NAME", "MEMORY USED/TOTAL", "UTIL", "TEMP", "POWER", "CC", "MIG", "HEALTH"],
        [_gpu_row(g) for g in snapshot.gpus],
    )
    label_lines = [f"  {key}={value}" for key, value in sorted(labels.items())]
    return "\n".join([header, "", table, "", "labels the agent would write:", *label_lines])


def _cuda(version: int | None) -> str:
    return "-" if version is None else f"{version // 1000}.{(version % 1000) // 10}"


def readout_json(snapshot: NodeSnapshot, labels: Mapping[str, str]) -> dict[str, Any]:
    return {"node": asdict(snapshot), "labels": dict(sorted(labels.items()))}
