"""`cluster --prometheus URL`: a per-pool GPU summary and the firing GPU alerts, from Prometheus.

`pool_summary` and `firing_gpu_alerts` are pure (Prometheus API answers in, rows out); `fetch_prometheus` is the
only part that talks to Prometheus (its HTTP API, read-only). Series are the agent's own: per-GPU utilization
(0-1) and framebuffer used/total, each carrying `node`; a node's pool comes from the cluster rows.
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from .cluster import ClusterRow
from .readout import render_table

__all__ = [
    "IDLE_BELOW",
    "PoolRow",
    "PrometheusData",
    "fetch_prometheus",
    "firing_gpu_alerts",
    "pool_summary",
    "pools_json",
    "render_alerts",
    "render_pools",
]

# A GPU below this utilization counts as idle (the GpuAllocatedButIdle rule's default too).
IDLE_BELOW = 0.05
QUERIES = {
    "utilization": "gpu_node_agent_gpu_utilization_ratio",
    "used": "gpu_node_agent_gpu_memory_used_bytes",
    "total": "gpu_node_agent_gpu_memory_total_bytes",
}


@dataclass(frozen=True)
class PrometheusData:
    """Instant-query results by QUERIES key (the API's `data.result` lists) and `/api/v1/alerts`' alerts."""

    series: Mapping[str, Sequence[Mapping[str, Any]]]
    alerts: Sequence[Mapping[str, Any]]


@dataclass(frozen=True)
class PoolRow:
    pool: str
    nodes: int
    gpus: int
    in_use: int | None
    idle: int | None
    memory_used_bytes: float | None
    memory_total_bytes: float | None


def _by_node(results: Sequence[Mapping[str, Any]]) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for result in results:
        node = result.get("metric", {}).get("node")
        if node:
            out.setdefault(node, []).append(float(result["value"][1]))
    return out


def pool_summary(rows: Sequence[ClusterRow], data: PrometheusData) -> list[PoolRow]:
    """One row per pool of GPU nodes: GPUs (allocatable), busy and idle GPUs, framebuffer used of total."""
    utilization = _by_node(data.series.get("utilization", ()))
    used, total = _by_node(data.series.get("used", ())), _by_node(data.series.get("total", ()))
    pools: dict[str, list[ClusterRow]] = {}
    for row in rows:
        pools.setdefault(row.pool or "-", []).append(row)
    summary = []
    for pool, members in sorted(pools.items()):
        names = [r.node for r in members]
        samples = [u for n in names for u in utilization.get(n, [])]
        memory = [(sum(used[n]), sum(total[n])) for n in names if n in used and n in total]
        summary.append(PoolRow(
            pool=pool,
            nodes=len(members),
            gpus=sum(int(r.gpus) for r in members if r.gpus and r.gpus.isdigit()),
            in_use=sum(u >= IDLE_BELOW for u in samples) if samples else None,
            idle=sum(u < IDLE_BELOW for u in samples) if samples else None,
            memory_used_bytes=sum(u for u, _ in memory) if memory else None,
            memory_total_bytes=sum(t for _, t in memory) if memory else None,
        ))
    return summary


def firing_gpu_alerts(alerts: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Firing alerts of the GPU rules (names starting with Gpu), most severe first, then by name and node."""
    rank = {"critical": 0, "warning": 1, "info": 2}
    firing = [a for a in alerts if a.get("state") == "firing" and a["labels"].get("alertname", "").startswith("Gpu")]
    return sorted(firing, key=lambda a: (rank.get(a["labels"].get("severity", ""), 3), a["labels"]["alertname"],
                                         a["labels"].get("node", "")))


def _gib(value: float | None) -> str:
    return "-" if value is None else f"{value / 2**30:.1f}"


def render_pools(pools: Sequence[PoolRow]) -> str:
    headers = ["POOL", "NODES", "GPUS", "IN-USE", "IDLE", "MEM-USED"]
    body = [
        [p.pool, str(p.nodes), str(p.gpus), "-" if p.in_use is None else str(p.in_use),
         "-" if p.idle is None else str(p.idle),
         "-" if p.memory_total_bytes is None
         else f"{_gib(p.memory_used_bytes)}/{_gib(p.memory_total_bytes)} GiB "
              f"({100 * (p.memory_used_bytes or 0) / (p.memory_total_bytes or 1):.0f}%)"]
        for p in pools
    ]
    return render_table(headers, body) if body else "no GPU pools"


def render_alerts(alerts: Sequence[Mapping[str, Any]]) -> str:
    if not alerts:
        return "no GPU alert firing"
    headers = ["ALERT", "SEVERITY", "NODE", "SUMMARY"]
    body = [[a["labels"]["alertname"], a["labels"].get("severity", "-"), a["labels"].get("node", "-"),
             a.get("annotations", {}).get("summary", "")] for a in alerts]
    return render_table(headers, body)


def pools_json(pools: Sequence[PoolRow], alerts: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    return {"pools": [asdict(p) for p in pools], "firing_alerts": [dict(a) for a in alerts]}


def fetch_prometheus(url: str, timeout: float = 10) -> PrometheusData:
    def get(path: str) -> Any:
        with urllib.request.urlopen(url.rstrip("/") + path, timeout=timeout) as resp:
            body = json.load(resp)
        if body.get("status") != "success":
            raise RuntimeError(f"{url}{path}: {body.get('error', body)}")
        return body["data"]

    series = {key: get("/api/v1/query?" + urllib.parse.urlencode({"query": q}))["result"]
              for key, q in QUERIES.items()}
    return PrometheusData(series=series, alerts=get("/api/v1/alerts")["alerts"])
