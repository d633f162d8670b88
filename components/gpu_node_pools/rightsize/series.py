"""What the report asks Prometheus, and its answers as plain data.

The queries are PromQL strings built from the window and the step; the answers are Prometheus' HTTP API `data`
objects, keyed by query name, exactly as the API returns them (so recorded answers and live ones go through the same
code). Everything here is pure: the HTTP call lives at the command line's edge (`prometheus_api.py`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "MEMORY_TOTAL", "MEMORY_USED", "POD_RESOURCES_UP", "POOL_LABEL", "UTILIZATION", "Query", "Series", "Window",
    "matrix", "queries", "vector",
]

UTILIZATION = "gpu_node_agent_gpu_utilization_ratio"
MEMORY_USED = "gpu_node_agent_gpu_memory_used_bytes"
MEMORY_TOTAL = "gpu_node_agent_gpu_memory_total_bytes"
POD_RESOURCES_UP = "gpu_node_agent_pod_resources_up"
# kube-state-metrics' label for our pool label (it exposes node labels it is allowed to as `label_<sanitized key>`).
POOL_LABEL = "label_gpu_node_pools_io_pool"


@dataclass(frozen=True)
class Window:
    """The report's time range: `end` and `seconds` back from it, read every `step` seconds."""

    end: float
    seconds: int
    step: int

    @property
    def start(self) -> float:
        return self.end - self.seconds


@dataclass(frozen=True)
class Query:
    name: str
    promql: str
    ranged: bool  # query_range over the window (else an instant query at its end)


def queries(window: Window) -> tuple[Query, ...]:
    """Each step's mean utilization and peak memory per GPU (and per MIG device), so a short spike between two steps
    still counts; the rest are instant queries over the whole window."""
    step, span = f"{window.step}s", f"{window.seconds}s"
    return (
        Query("utilization", f"avg_over_time({UTILIZATION}[{step}])", ranged=True),
        Query("memory", f"max_over_time({MEMORY_USED}[{step}])", ranged=True),
        Query("memoryTotal", f"max_over_time({MEMORY_TOTAL}[{span}])", ranged=False),
        Query("podResourcesUp", f"max_over_time({POD_RESOURCES_UP}[{span}])", ranged=False),
        Query("podOwner",
              f"max by (namespace, pod, owner_kind, owner_name) (max_over_time(kube_pod_owner[{span}]))",
              ranged=False),
        Query("replicaSetOwner",
              f"max by (namespace, replicaset, owner_kind, owner_name) (max_over_time(kube_replicaset_owner[{span}]))",
              ranged=False),
        Query("jobOwner",
              f"max by (namespace, job_name, owner_kind, owner_name) (max_over_time(kube_job_owner[{span}]))",
              ranged=False),
        Query("nodePool", f"max by (node, {POOL_LABEL}) (max_over_time(kube_node_labels[{span}]))", ranged=False),
    )


@dataclass(frozen=True)
class Series:
    labels: Mapping[str, str]
    samples: tuple[tuple[float, float], ...]  # (unix time, value)


def _result(data: Mapping[str, Any] | None, kind: str) -> list[dict[str, Any]]:
    if not data:
        return []
    if data.get("resultType") != kind:
        raise ValueError(f"expected a {kind} answer, got {data.get('resultType')!r}")
    return list(data["result"])


def matrix(data: Mapping[str, Any] | None, after: float = float("-inf")) -> list[Series]:
    """A query_range answer's series, samples later than `after` (NaN steps dropped: an agent that could not read
    the GPU)."""
    out = []
    for row in _result(data, "matrix"):
        samples = tuple((float(t), float(v)) for t, v in row["values"]
                        if float(t) > after and v not in ("NaN", "+Inf", "-Inf"))
        if samples:
            out.append(Series(dict(row["metric"]), samples))
    return out


def vector(data: Mapping[str, Any] | None) -> list[Series]:
    """An instant query's series, each with its one sample."""
    return [Series(dict(row["metric"]), ((float(row["value"][0]), float(row["value"][1])),))
            for row in _result(data, "vector")]
