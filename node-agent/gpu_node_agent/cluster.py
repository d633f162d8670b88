"""`cluster`: the cluster's GPU nodes at a glance, like `kubectl top nodes` for GPUs.

`cluster_rows` is pure (Node and Lease objects as dicts in, rows out); `fetch` is the only part that calls the
API, with read-only verbs (the `gpu-node-agent-reader` ClusterRole grants them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from .readout import render_table

__all__ = ["ClusterRow", "cluster_rows", "fetch", "render_cluster", "rows_json"]

GPU_RESOURCE = "nvidia.com/gpu"
GPU_PRESENT_LABEL = "nvidia.com/gpu.present"
POOL_LABEL = "gpu-node-pools.io/pool"


@dataclass(frozen=True)
class ClusterRow:
    node: str
    pool: str | None
    taints: tuple[str, ...]
    gpus: str | None
    product: str | None
    memory_mib: str | None
    memory_used: str | None
    utilization: str | None
    health: str | None
    health_reason: str | None
    last_report_seconds: float | None
    stale: bool


def _is_gpu_node(node: Mapping[str, Any], prefix: str) -> bool:
    labels = node.get("metadata", {}).get("labels") or {}
    allocatable = node.get("status", {}).get("allocatable") or {}
    return (
        GPU_RESOURCE in allocatable
        or labels.get(GPU_PRESENT_LABEL) == "true"
        or any(key.startswith(prefix) for key in labels)
    )


def _parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def cluster_rows(
    nodes: Sequence[Mapping[str, Any]], leases: Sequence[Mapping[str, Any]], prefix: str, now: datetime
) -> list[ClusterRow]:
    renewals = {
        lease["spec"]["holderIdentity"]: lease["spec"]
        for lease in leases
        if (lease.get("spec") or {}).get("holderIdentity") and (lease.get("spec") or {}).get("renewTime")
    }
    rows = []
    for node in sorted(nodes, key=lambda n: n["metadata"]["name"]):
        if not _is_gpu_node(node, prefix):
            continue
        name = node["metadata"]["name"]
        labels = node["metadata"].get("labels") or {}
        spec = node.get("spec") or {}
        lease = renewals.get(name)
        age = (now - _parse_time(lease["renewTime"])).total_seconds() if lease else None
        duration = float(lease.get("leaseDurationSeconds") or 0) if lease else 0.0
        rows.append(
            ClusterRow(
                node=name,
                pool=labels.get(POOL_LABEL),
                taints=tuple(f"{t['key']}={t.get('value', '')}:{t['effect']}" for t in spec.get("taints") or []),
                gpus=(node.get("status", {}).get("allocatable") or {}).get(GPU_RESOURCE),
                product=labels.get(f"{prefix}gpu.product") or labels.get("nvidia.com/gpu.product"),
                memory_mib=labels.get(f"{prefix}gpu.memory") or labels.get("nvidia.com/gpu.memory"),
                memory_used=labels.get(f"{prefix}gpu.memory-used"),
                utilization=labels.get(f"{prefix}gpu.utilization"),
                health=labels.get(f"{prefix}gpu.health"),
                health_reason=labels.get(f"{prefix}gpu.health-reason"),
                last_report_seconds=age,
                stale=lease is None or age is None or age > duration,
            )
        )
    return rows


def _ago(seconds: float | None, stale: bool) -> str:
    if seconds is None:
        return "never"
    text = f"{int(seconds)}s ago" if seconds < 120 else f"{int(seconds // 60)}m ago"
    return f"{text} (stale)" if stale else text


def render_cluster(rows: Sequence[ClusterRow]) -> str:

    headers = ["NODE", "POOL", "TAINTS", "GPUS", "PRODUCT", "MEMORY", "MEM-USED", "UTIL", "HEALTH", "LAST-REPORT"]
    body = [
        [
            r.node,
            r.pool or "-",
            ",".join(r.taints) or "-",
            r.gpus or "-",
            r.product or "-",
            f"{r.memory_mib}Mi" if r.memory_mib else "-",
            f"{r.memory_used}%" if r.memory_used else "-",
            f"{r.utilization}%" if r.utilization else "-",
            f"{r.health} ({r.health_reason})" if r.health and r.health_reason else r.health or "-",
            _ago(r.last_report_seconds, r.stale),
        ]
        for r in rows
    ]
    return render_table(headers, body) if body else "no GPU nodes found"


def rows_json(rows: Sequence[ClusterRow]) -> list[dict[str, Any]]:
    return [asdict(r) for r in rows]


def fetch(kubeconfig: str | None, namespace: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Nodes (all) and the agent's Leases, as plain dicts."""
    from lightkube import Client, KubeConfig
    from lightkube.resources.coordination_v1 import Lease
    from lightkube.resources.core_v1 import Node

    config = KubeConfig.from_file(kubeconfig) if kubeconfig else KubeConfig.from_env()
    with Client(config=config) as client:
        nodes = [n.to_dict() for n in client.list(Node)]
        leases = [lease.to_dict() for lease in client.list(Lease, namespace=namespace)]
    return nodes, leases
