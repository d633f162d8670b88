"""A day of a GPU fleet as the node agent (with pod attribution) and kube-state-metrics would have exposed it, as
OpenMetrics text for `promtool tsdb create-blocks-from openmetrics`: the rightsize report's input, fed to a real
Prometheus both to record tests/data/rightsize/ and in the live test.

Workloads (one sample a minute, seeded noise), each a shape the report must tell apart:
- research/jupyter-alice (StatefulSet, A10G): a notebook holding its GPU all day, two half-hour bursts -> release
- serving/embedder (Deployment, A10G): 10-20 % busy, 4.6 GiB -> share, time-slicing x4
- serving/reranker (Deployment, 2 pods, A10G): about 30 % busy, 7.5 GiB -> share, time-slicing x2
- batch/nightly-embed (CronJob, A10G): three 90-minute runs at 90 %, 18 GiB -> keep
- batch/queue-worker (Deployment, A10G): held all day, 25-minute bursts at 95 % every 2 h -> keep (bursty)
- serving/summarizer (Deployment, L40S): about 50 % busy, 16 GiB -> smaller-gpu, an L4
- ml-train/llm-finetune (Job, 8 H100s): 22 h at 85-98 %, 70 GiB each -> keep
- serving/chat-small (Deployment, H100): about 30 % busy, 13 GiB -> share, MIG 3g.40gb
- serving/vector-db (StatefulSet, H100): about 8 % busy, 9 GiB -> share, MIG 1g.20gb
Six H100s of the second p5 node are held by nobody all day.
"""

from __future__ import annotations

import math
import random
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

__all__ = ["EXPECTED", "MINUTES", "openmetrics"]

MINUTES = 24 * 60
GIB = 1024**3

# (namespace, kind, name) -> (action, target): what the report must say about each workload.
EXPECTED = {
    ("research", "StatefulSet", "jupyter-alice"): ("release", ""),
    ("serving", "Deployment", "embedder"): ("share", "time-slicing x4"),
    ("serving", "Deployment", "reranker"): ("share", "time-slicing x2"),
    ("batch", "CronJob", "nightly-embed"): ("keep", ""),
    ("batch", "Deployment", "queue-worker"): ("keep", ""),
    ("serving", "Deployment", "summarizer"): ("smaller-gpu", "NVIDIA L4 (g6.xlarge)"),
    ("ml-train", "Job", "llm-finetune"): ("keep", ""),
    ("serving", "Deployment", "chat-small"): ("share", "mig 3g.40gb"),
    ("serving", "StatefulSet", "vector-db"): ("share", "mig 1g.20gb"),
}

A10G, L40S, H100 = ("NVIDIA A10G", 23028), ("NVIDIA L40S", 46068), ("NVIDIA H100 80GB HBM3", 81559)
Shape = Callable[[int, random.Random], tuple[float, float] | None]  # minute -> (utilization, memory GiB) or None


@dataclass(frozen=True)
class Holder:
    pod: str
    namespace: str
    shape: Shape  # None at a minute: the pod doesn't hold the GPU then


@dataclass(frozen=True)
class Gpu:
    node: str
    pool: str
    index: int
    model: tuple[str, int]
    holders: tuple[Holder, ...]


def _clip(value: float) -> float:
    return round(min(1.0, max(0.0, value)), 3)


def _notebook(m: int, r: random.Random) -> tuple[float, float]:
    burst = 600 <= m < 630 or 900 <= m < 930
    return (_clip(r.gauss(0.45, 0.05)), 5.0) if burst else (_clip(r.uniform(0, 0.02)), 3.1)


def _diurnal(m: int) -> float:
    return math.sin(2 * math.pi * (m - 360) / MINUTES)  # peaks at midday


def _embedder(m: int, r: random.Random) -> tuple[float, float]:
    return _clip(0.13 + 0.05 * _diurnal(m) + r.gauss(0, 0.015)), 4.2 + 0.4 * max(0.0, _diurnal(m))


def _reranker(m: int, r: random.Random) -> tuple[float, float]:
    return _clip(0.3 + 0.06 * _diurnal(m) + r.gauss(0, 0.02)), 7.0 + 0.5 * max(0.0, _diurnal(m))


def _cron_run(start: int) -> Shape:
    def shape(m: int, r: random.Random) -> tuple[float, float] | None:
        return (_clip(r.gauss(0.9, 0.03)), 18.0) if start <= m < start + 90 else None
    return shape


def _queue_worker(m: int, r: random.Random) -> tuple[float, float]:
    return (_clip(r.gauss(0.95, 0.02)), 6.0) if m % 120 < 25 else (_clip(r.uniform(0, 0.02)), 1.5)


def _summarizer(m: int, r: random.Random) -> tuple[float, float]:
    return _clip(0.5 + 0.03 * _diurnal(m) + r.gauss(0, 0.02)), 15.0 + max(0.0, _diurnal(m))


def _training(m: int, r: random.Random) -> tuple[float, float] | None:
    if not 60 <= m < 1380:
        return None
    checkpoint = m % 60 < 2
    return (_clip(r.gauss(0.3, 0.05)) if checkpoint else _clip(r.uniform(0.85, 0.98))), 70.0


def _chat_small(m: int, r: random.Random) -> tuple[float, float]:
    return _clip(0.28 + 0.03 * _diurnal(m) + r.gauss(0, 0.015)), 12.0 + max(0.0, _diurnal(m))


def _vector_db(m: int, r: random.Random) -> tuple[float, float]:
    return _clip(0.08 + 0.02 * _diurnal(m) + r.gauss(0, 0.01)), 9.0


def _fleet() -> tuple[Gpu, ...]:
    a10g = [
        Gpu("ip-10-0-1-11", "gpu-a10g", 0, A10G, (Holder("jupyter-alice-0", "research", _notebook),)),
        Gpu("ip-10-0-1-12", "gpu-a10g", 0, A10G, (Holder("embedder-7d9f8b6c5d-x2k4p", "serving", _embedder),)),
        Gpu("ip-10-0-1-13", "gpu-a10g", 0, A10G, (Holder("reranker-5c8d4b7f9-h2mzq", "serving", _reranker),)),
        Gpu("ip-10-0-1-13", "gpu-a10g", 1, A10G, (Holder("reranker-5c8d4b7f9-w7tnr", "serving", _reranker),)),
        Gpu("ip-10-0-1-13", "gpu-a10g", 2, A10G, tuple(
            Holder(f"nightly-embed-{job}-{suffix}", "batch", _cron_run(start))
            for job, suffix, start in ((29416320, "q8v2c", 120), (29416680, "k5t9b", 480), (29417040, "z4wxp", 840)))),
        Gpu("ip-10-0-1-13", "gpu-a10g", 3, A10G, (Holder("queue-worker-6b7c9d8f5-m2n4p", "batch", _queue_worker),)),
    ]
    l40s = [Gpu("ip-10-0-3-31", "gpu-l40s", 0, L40S, (Holder("summarizer-8f6d5c4b7-t9qxz", "serving", _summarizer),))]
    h100 = [Gpu("ip-10-0-2-21", "gpu-h100", i, H100, (Holder("llm-finetune-8xk2q", "ml-train", _training),))
            for i in range(8)]
    h100 += [
        Gpu("ip-10-0-2-22", "gpu-h100", 0, H100, (Holder("chat-small-54d8c7b9f6-r4v2k", "serving", _chat_small),)),
        Gpu("ip-10-0-2-22", "gpu-h100", 1, H100, (Holder("vector-db-0", "serving", _vector_db),)),
    ]
    h100 += [Gpu("ip-10-0-2-22", "gpu-h100", i, H100, ()) for i in range(2, 8)]
    return (*a10g, *l40s, *h100)


# kube-state-metrics' owners: pod -> (kind, name); ReplicaSets and Jobs -> their owner.
_POD_OWNERS = {
    "jupyter-alice-0": ("StatefulSet", "jupyter-alice"), "vector-db-0": ("StatefulSet", "vector-db"),
    "llm-finetune-8xk2q": ("Job", "llm-finetune"),
    **{f"nightly-embed-{j}-{s}": ("Job", f"nightly-embed-{j}")
       for j, s in ((29416320, "q8v2c"), (29416680, "k5t9b"), (29417040, "z4wxp"))},
}


def _pod_owner(pod: str) -> tuple[str, str]:
    return _POD_OWNERS.get(pod) or ("ReplicaSet", pod.rsplit("-", 1)[0])


def _labels(**labels: str) -> str:
    return "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}"


def _gpu_series(gpu: Gpu, start: float, attribute: bool) -> Iterator[tuple[str, str, float, float]]:
    """(metric, labels, time, value) for one GPU, minute by minute; a new label set when its holder changes."""
    rng = random.Random(f"{gpu.node}/{gpu.index}")
    model, memory_mib = gpu.model
    uuid = f"GPU-{zlib.crc32(gpu.node.encode()) % 10**8:08d}-0000-4000-8000-{gpu.index:012d}"
    base = dict(gpu=str(gpu.index), UUID=uuid, pci_bus_id=f"00000000:{gpu.index + 16:02X}:00.0",
                device=f"nvidia{gpu.index}", modelName=model, Hostname=gpu.node, node=gpu.node,
                instance=f"{gpu.node}:9402", job="gpu-node-agent")
    for m in range(MINUTES):
        t = start + 60 * m
        for holder in gpu.holders:
            sample = holder.shape(m, rng)
            if sample is not None:
                utilization, memory_gib = sample
                labels = {**base, "pod": holder.pod, "namespace": holder.namespace, "container": "main"} \
                    if attribute else base
                break
        else:
            utilization, memory_gib, labels = 0.0, 0.4, base
        text = _labels(**labels)
        yield "gpu_node_agent_gpu_utilization_ratio", text, t, utilization
        yield "gpu_node_agent_gpu_memory_used_bytes", text, t, round(memory_gib * GIB)
        yield "gpu_node_agent_gpu_memory_total_bytes", _labels(**base), t, memory_mib * 1024**2


def openmetrics(end: float, *, attribute: bool = True, kube_state_metrics: bool = True) -> str:
    """The fleet's day ending at `end` (Unix seconds) as OpenMetrics text; `attribute` is the agents'
    `--pod-resources`, `kube_state_metrics` whether its owner and node-label series are there."""
    start = end - 60 * MINUTES
    families: dict[str, list[str]] = {}
    gpus = _fleet()
    for gpu in gpus:
        for metric, labels, t, value in _gpu_series(gpu, start, attribute):
            families.setdefault(metric, []).append(f"{metric}{labels} {value} {t:.0f}")
    nodes = sorted({(g.node, g.pool) for g in gpus})
    times = [start + 60 * m for m in range(0, MINUTES, 5)]
    if attribute:
        families["gpu_node_agent_pod_resources_up"] = _info(
            "gpu_node_agent_pod_resources_up", [{"node": n, "job": "gpu-node-agent"} for n, _ in nodes], times)
    if kube_state_metrics:
        ksm = {"job": "kube-state-metrics"}
        pods = sorted({(h.namespace, h.pod) for g in gpus for h in g.holders})
        owners = [(ns, pod, *_pod_owner(pod)) for ns, pod in pods]
        families["kube_pod_owner"] = _info("kube_pod_owner", [
            {**ksm, "namespace": ns, "pod": pod, "owner_kind": kind, "owner_name": name, "owner_is_controller": "true"}
            for ns, pod, kind, name in owners], times)
        families["kube_replicaset_owner"] = _info("kube_replicaset_owner", [
            {**ksm, "namespace": ns, "replicaset": rs, "owner_kind": "Deployment",
             "owner_name": rs.rsplit("-", 1)[0], "owner_is_controller": "true"}
            for ns, rs in sorted({(ns, name) for ns, _, kind, name in owners if kind == "ReplicaSet"})], times)
        families["kube_job_owner"] = _info("kube_job_owner", [
            {**ksm, "namespace": ns, "job_name": job, **_job_owner(job)}
            for ns, job in sorted({(ns, name) for ns, _, kind, name in owners if kind == "Job"})], times)
        families["kube_node_labels"] = _info("kube_node_labels", [
            {**ksm, "node": n, "label_gpu_node_pools_io_pool": pool} for n, pool in nodes], times)
    lines = []
    for metric, samples in families.items():
        lines.append(f"# TYPE {metric} gauge")
        # Series by series, each in time order, as the backfiller requires.
        lines.extend(sorted(samples, key=lambda line: (line.rsplit(" ", 2)[0], float(line.rsplit(" ", 1)[1]))))
    return "\n".join(lines) + "\n# EOF\n"


def _info(metric: str, label_sets: list[dict[str, str]], times: list[float]) -> list[str]:
    """kube-state-metrics' style: a series of 1s per label set."""
    return [f"{metric}{_labels(**labels)} 1 {t:.0f}" for labels in label_sets for t in times]


def _job_owner(job: str) -> dict[str, str]:
    if job.startswith("nightly-embed-"):
        return {"owner_kind": "CronJob", "owner_name": "nightly-embed", "owner_is_controller": "true"}
    return {"owner_kind": "<none>", "owner_name": "<none>", "owner_is_controller": "<none>"}
