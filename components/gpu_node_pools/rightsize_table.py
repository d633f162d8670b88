"""`gpu-node-pools rightsize`: the report as text tables, workloads (largest saving first) then pools."""

from __future__ import annotations

from datetime import UTC, datetime

from .pools_table import text_table
from .rightsize import Report

__all__ = ["rightsize_table"]


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _usd(value: float | None) -> str:
    return "-" if value is None else f"${value:,.0f}"


def _when(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M")


def rightsize_table(report: Report) -> str:
    w = report.window
    lines = [f"GPU use from {_when(w.end - report.observed_seconds)} to {_when(w.end)} UTC (step {w.step}s); "
             "$ a month at on-demand prices"]
    rows: list[tuple[str, ...]] = [(
        "NAMESPACE", "WORKLOAD", "POOL", "GPU", "GPUS", "GPU-H", "UTIL MEAN", "UTIL P95", "PEAK MEM", "IDLE",
        "$/MONTH", "ACTION", "TARGET", "SAVES/MONTH", "REASON",
    )]
    for wl in report.workloads:
        rec = wl.recommendation
        rows.append((
            wl.owner.namespace, f"{wl.owner.kind}/{wl.owner.name}", wl.pool, wl.gpu_model, f"{wl.gpus_held:g}",
            f"{wl.gpu_hours:.1f}", _pct(wl.utilization_mean), _pct(wl.utilization_p95),
            f"{wl.memory_peak_bytes / 1024**3:.1f}Gi", _pct(wl.idle_share), _usd(wl.monthly_cost_usd),
            rec.action, rec.target or "-", _usd(wl.monthly_savings_usd), rec.reason,
        ))
    lines.append(text_table(rows) if len(rows) > 1 else "no workload held a GPU in the window")
    pools: list[tuple[str, ...]] = [(
        "POOL", "GPU", "GPUS", "GPU-H", "ALLOCATED GPU-H", "USED GPU-H", "$/MONTH", "UNUSED $/MONTH",
    )]
    for p in report.pools:
        pools.append((p.pool, p.gpu_model, str(p.gpus), f"{p.gpu_hours:.1f}", f"{p.allocated_gpu_hours:.1f}",
                      f"{p.used_gpu_hours:.1f}", _usd(p.monthly_cost_usd), _usd(p.monthly_unused_usd)))
    total = sum(wl.monthly_savings_usd or 0 for wl in report.workloads)
    lines += ["", text_table(pools), "", f"recommendations save about {_usd(total)} a month"]
    return "\n".join(lines)
