"""The rightsize report: Prometheus' answers (series.queries) in, workloads with recommendations and pools out.

A workload holds a GPU at a step when the GPU's series at that step carry its pod's labels (the agent's pod
attribution); on a MIG GPU, when a MIG device's memory series does. Costs are monthly (HOURS_PER_MONTH) at the
on-demand price of the GPU model (gpus.py), scaled from the part of the window the agents' series cover (a fleet
watched for two days of a seven-day window is priced from those two days).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from .gpus import GpuModel, gpu_model
from .slices import Slice, mig_slice
from .owners import Owner, OwnerIndex
from .recommend import IDLE_UTILIZATION, Recommendation, Usage, recommend
from .series import MEMORY_USED, POD_RESOURCES_UP, POOL_LABEL, UTILIZATION, Series, Window, matrix, vector

__all__ = ["HOURS_PER_MONTH", "MissingSeries", "PoolSummary", "Report", "WorkloadReport", "build_report",
           "report_json"]

HOURS_PER_MONTH = 730

_SCRAPE_HINT = ("is Prometheus scraping the node agent? `gpu-node-pools alerts --scrape-config --stack NAME` prints "
                "the scrape job")
_POD_HINT = ("turn on the node agent's pod attribution: the stack key nodeAgent.podResources: true (the agent's "
             "--pod-resources flag, GPU_NODE_AGENT_POD_RESOURCES=1)")


class MissingSeries(Exception):
    """Prometheus answered, but without the series the report needs; the message names them and what to turn on."""


@dataclass(frozen=True)
class WorkloadReport:
    owner: Owner
    pods: tuple[str, ...]
    pool: str
    gpu_model: str
    gpus_held: float  # the most GPUs (MIG slices as their share) held at once
    gpu_hours: float
    utilization_mean: float | None
    utilization_p95: float | None
    memory_peak_bytes: float
    idle_share: float | None
    monthly_cost_usd: float | None
    recommendation: Recommendation
    monthly_savings_usd: float | None


@dataclass(frozen=True)
class PoolSummary:
    pool: str
    gpu_model: str
    gpus: int
    gpu_hours: float
    allocated_gpu_hours: float
    used_gpu_hours: float  # utilization-weighted: an hour at 25 % is a quarter of a used GPU-hour
    monthly_cost_usd: float | None
    monthly_unused_usd: float | None  # the part of the cost no kernel ran on


@dataclass(frozen=True)
class Report:
    window: Window
    observed_seconds: int  # from the first step with agent series to the window's end
    workloads: tuple[WorkloadReport, ...]
    pools: tuple[PoolSummary, ...]


@dataclass
class _Holding:
    """What one workload's GPUs did, step by step."""

    pods: set[str] = field(default_factory=set)
    devices_at: dict[float, set[tuple[str, str]]] = field(default_factory=lambda: defaultdict(set))
    utilization: dict[tuple[str, float], float] = field(default_factory=dict)
    memory_peak: float = 0.0
    models: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    nodes: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    mig: dict[tuple[str, str], Slice | None] = field(default_factory=dict)  # (UUID, GPU_I_ID) -> its slice
    mig_names: set[str] = field(default_factory=set)  # the MIG profiles it runs on, known to mig.py or not


def _held(series: Series) -> bool:
    return bool(series.labels.get("pod"))


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def _check(utilization: list[Series], memory: list[Series], pod_resources_up: list[Series]) -> None:
    if not utilization:
        raise MissingSeries(f"no {UTILIZATION} series in the window: {_SCRAPE_HINT}")
    if not any(_held(s) for s in (*utilization, *memory)) and not pod_resources_up:
        raise MissingSeries(f"no {UTILIZATION} or {MEMORY_USED} series with a `pod` label and no "
                            f"{POD_RESOURCES_UP} series: {_POD_HINT}")


def _holdings(utilization: list[Series], memory: list[Series], owners: OwnerIndex) -> dict[Owner, _Holding]:
    held: dict[Owner, _Holding] = defaultdict(_Holding)
    for s in utilization:
        if not _held(s):
            continue
        h = held[owners.owner(s.labels.get("namespace", ""), s.labels["pod"])]
        h.pods.add(s.labels["pod"])
        device = (s.labels.get("UUID", ""), "")
        for t, value in s.samples:
            h.devices_at[t].add(device)
            h.utilization[(device[0], t)] = value
            h.models[s.labels.get("modelName", "")] += 1
            h.nodes[s.labels.get("node", "")] += 1
    for s in memory:
        if not _held(s):
            continue
        h = held[owners.owner(s.labels.get("namespace", ""), s.labels["pod"])]
        h.pods.add(s.labels["pod"])
        h.memory_peak = max(h.memory_peak, max(v for _, v in s.samples))
        # A MIG device is held by its own series (the GPU's utilization is nobody's); a whole GPU by this one too,
        # where NVML reads its memory but not its utilization.
        profile_name = s.labels.get("GPU_I_PROFILE", "")
        device = (s.labels.get("UUID", ""), s.labels.get("GPU_I_ID", "") if profile_name else "")
        if profile_name:
            h.mig[device] = mig_slice(s.labels.get("modelName", ""), profile_name)
            h.mig_names.add(profile_name)
        for t, _ in s.samples:
            if device not in h.devices_at[t]:
                h.devices_at[t].add(device)
                h.models[s.labels.get("modelName", "")] += 1
                h.nodes[s.labels.get("node", "")] += 1
    return held


def _share_of(device: tuple[str, str], h: _Holding) -> float:
    """A whole GPU is 1; a MIG device its profile's share (1 for a profile this table doesn't know)."""
    profile = h.mig.get(device)
    return profile.share if profile else 1.0


def _monthly(gpu_hours: float, observed_seconds: int, model: GpuModel | None) -> float | None:
    if model is None:
        return None
    return round(gpu_hours / (observed_seconds / 3600) * HOURS_PER_MONTH * model.usd_hour, 2)


def _workload(owner: Owner, h: _Holding, window: Window, observed_seconds: int, totals: Mapping[str, float],
              node_pools: Mapping[str, str]) -> WorkloadReport:
    model_name = max(h.models, key=lambda m: h.models[m])
    node = max(h.nodes, key=lambda n: h.nodes[n])
    model = gpu_model(model_name)
    hours = sum(_share_of(d, h) for devices in h.devices_at.values() for d in devices) * window.step / 3600
    held_at_once = max(sum(_share_of(d, h) for d in devices) for devices in h.devices_at.values())
    values = list(h.utilization.values())
    usage = Usage(
        model=model,
        memory_total_bytes=totals.get(model_name) or (model.memory_mib * 1024**2 if model else 0.0),
        utilization_mean=sum(values) / len(values) if values else None,
        utilization_p95=_p95(values) if values else None,
        idle_share=sum(v < IDLE_UTILIZATION for v in values) / len(values) if values else None,
        memory_peak_bytes=h.memory_peak,
        mig_profile=",".join(sorted(h.mig_names)) if h.mig_names and not values else "",
    )
    advice = recommend(usage)
    cost = _monthly(hours, observed_seconds, model)
    return WorkloadReport(
        owner=owner, pods=tuple(sorted(h.pods)), pool=node_pools.get(node, model_name), gpu_model=model_name,
        gpus_held=round(held_at_once, 3), gpu_hours=round(hours, 3),
        utilization_mean=usage.utilization_mean, utilization_p95=usage.utilization_p95,
        memory_peak_bytes=h.memory_peak, idle_share=usage.idle_share, monthly_cost_usd=cost,
        recommendation=advice, monthly_savings_usd=None if cost is None else round(cost * advice.saving_share, 2),
    )


def _pools(utilization: list[Series], memory: list[Series], window: Window, observed_seconds: int,
           node_pools: Mapping[str, str]) -> tuple[PoolSummary, ...]:
    """Every GPU the agents report, by pool: its hours, the hours a pod held it (MIG slices by their share) and the
    hours weighted by utilization."""
    gpus: dict[str, tuple[str, str]] = {}  # UUID -> (pool, model)
    used: dict[tuple[str, float], float] = {}
    allocated: dict[tuple[str, float], float] = defaultdict(float)
    for s in utilization:
        uuid, model = s.labels.get("UUID", ""), s.labels.get("modelName", "")
        gpus[uuid] = (node_pools.get(s.labels.get("node", ""), model), model)
        for t, value in s.samples:
            used[(uuid, t)] = max(value, used.get((uuid, t), 0.0))
            if _held(s):
                allocated[(uuid, t)] = 1.0
    for s in memory:
        profile_name = s.labels.get("GPU_I_PROFILE", "")
        if profile_name and _held(s):
            profile = mig_slice(s.labels.get("modelName", ""), profile_name)
            for t, _ in s.samples:
                key = (s.labels.get("UUID", ""), t)
                allocated[key] = min(1.0, allocated[key] + (profile.share if profile else 1.0))
    rows = []
    step_hours = window.step / 3600
    for pool, model_name in sorted(set(gpus.values())):
        members = {u for u, pm in gpus.items() if pm == (pool, model_name)}
        hours = sum(1 for (u, _) in used if u in members) * step_hours
        busy = sum(v for (u, _), v in used.items() if u in members) * step_hours
        held = sum(v for (u, _), v in allocated.items() if u in members) * step_hours
        priced = gpu_model(model_name)
        cost = _monthly(hours, observed_seconds, priced)
        rows.append(PoolSummary(
            pool, model_name, len(members), round(hours, 3), round(held, 3), round(busy, 3), cost,
            None if cost is None or hours == 0 else round(cost * (1 - busy / hours), 2)))
    return tuple(rows)


def build_report(answers: Mapping[str, Any], window: Window) -> Report:
    """The report from Prometheus' answers to `series.queries(window)`, keyed by query name."""
    # query_range answers both ends of the range; the step at `start` belongs to the window before.
    utilization = matrix(answers.get("utilization"), after=window.start)
    memory = matrix(answers.get("memory"), after=window.start)
    _check(utilization, memory, vector(answers.get("podResourcesUp")))
    first = min(s.samples[0][0] for s in utilization)
    observed = int(min(window.seconds, window.end - first + window.step))
    owners = OwnerIndex(vector(answers.get("podOwner")), vector(answers.get("replicaSetOwner")),
                        vector(answers.get("jobOwner")))
    node_pools = {s.labels["node"]: s.labels[POOL_LABEL] for s in vector(answers.get("nodePool"))
                  if s.labels.get(POOL_LABEL) and s.labels.get("node")}
    totals = {s.labels.get("modelName", ""): s.samples[0][1] for s in vector(answers.get("memoryTotal"))
              if not s.labels.get("GPU_I_PROFILE")}
    workloads = [_workload(owner, h, window, observed, totals, node_pools)
                 for owner, h in _holdings(utilization, memory, owners).items()]
    workloads.sort(key=lambda w: (-(w.monthly_savings_usd or 0), -(w.monthly_cost_usd or 0), w.owner))
    return Report(window, observed, tuple(workloads), _pools(utilization, memory, window, observed, node_pools))


def report_json(report: Report) -> dict[str, Any]:
    """The report for tools: camelCase keys, bytes and ratios as numbers, times as Unix seconds."""
    def workload(w: WorkloadReport) -> dict[str, Any]:
        return {
            "namespace": w.owner.namespace, "kind": w.owner.kind, "name": w.owner.name, "ownerFrom": w.owner.source,
            "pods": list(w.pods), "pool": w.pool, "gpuModel": w.gpu_model, "gpusHeld": w.gpus_held,
            "gpuHours": w.gpu_hours, "utilizationMean": w.utilization_mean, "utilizationP95": w.utilization_p95,
            "memoryPeakBytes": w.memory_peak_bytes, "idleShare": w.idle_share, "monthlyCostUsd": w.monthly_cost_usd,
            "recommendation": {"action": w.recommendation.action, "target": w.recommendation.target,
                               "reason": w.recommendation.reason, "monthlySavingsUsd": w.monthly_savings_usd},
        }

    def pool(p: PoolSummary) -> dict[str, Any]:
        names = {"gpu_hours": "gpuHours", "allocated_gpu_hours": "allocatedGpuHours", "used_gpu_hours":
                 "usedGpuHours", "monthly_cost_usd": "monthlyCostUsd", "monthly_unused_usd": "monthlyUnusedUsd",
                 "gpu_model": "gpuModel"}
        return {names.get(k, k): v for k, v in asdict(p).items()}

    return {
        "window": {"start": report.window.start, "end": report.window.end, "seconds": report.window.seconds,
                   "observedSeconds": report.observed_seconds,
                   "stepSeconds": report.window.step},
        "workloads": [workload(w) for w in report.workloads],
        "pools": [pool(p) for p in report.pools],
    }
