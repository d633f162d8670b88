"""Seeded days of GPU workloads, their synthetic usage, the rightsize recommendations for it, and the pools and pods
that apply them (pure: no cluster; rightsize_replay.py replays the result).

A workload is what the rightsize report reports on (namespace + owner): its pods (when each ran, how many GPUs it
asked for), its memory peak per GPU and its utilization at every 5-minute step a pod of it held GPUs. Its usage is
summarised exactly as the report does (mean and nearest-rank p95 of the steps, idle share under IDLE_UTILIZATION)
and handed to the report's own `recommend`. Two runs of one mix:

- `whole`: every pod asks for whole `nvidia.com/gpu` on an elastic whole-GPU pool of the family it runs on today;
- `rightsized`: each recommendation applied, by these rules:
  - `share` with `time-slicing xN`: a time-sliced pool of the same family whose replicas are the largest of
    SHARED_POOL_REPLICAS not above N (a platform runs a few shared pools, not one per N; fewer replicas than advised
    give each pod more memory and time, never less); its pods ask for `nvidia.com/gpu` (shares) as before;
  - `smaller-gpu`: a whole-GPU pool of the recommended instance family;
  - `keep`: a whole-GPU pool of the same family, the pods unchanged;
  - `release`: the same whole-GPU pool, but the workload holds a GPU only while busy (an idle culler): a pod per
    busy session, kept `CULL_AFTER_MIN` after it;
  - `share` with a MIG profile P: an elastic pool of the same family split into MIG devices, `sharing.mig` with the
    `single` strategy and layout `all-P` (docs/rightsizing.md, "What the config does"); one pool per family and
    profile, so workloads advised the same profile share it. Its pods ask for `nvidia.com/gpu` as before: under
    `single` each is one MIG device of profile P.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gpu_node_pools.config.elastic import allowed_instance_types
from gpu_node_pools.config.node_pool import NodePoolConfig
from gpu_node_pools.config.platform import PlatformConfig, parse_platform_config
from gpu_node_pools.config.sharing import SharingConfig
from gpu_node_pools.facts.instance_types import INSTANCE_TYPES, family_of
from gpu_node_pools.facts.mig import mig_gpu
from gpu_node_pools.rightsize.gpus import GPU_MODELS, gpu_model
from gpu_node_pools.rightsize.recommend import IDLE_UTILIZATION, Recommendation, Usage, recommend
from gpu_node_pools.rightsize.slices import mig_slice

__all__ = ["CULL_AFTER_MIN", "DAY_MIN", "MIXES", "SHARED_POOL_REPLICAS", "STEP_MIN", "Mix", "Placement", "Pod",
           "Workload", "advise", "build_mix", "placement", "platform", "pool_config", "rightsized_pods",
           "shares_per_gpu", "slice_memory_mib", "usage", "whole_pods"]

DAY_MIN = 24 * 60
STEP_MIN = 5  # the report's step (series are averaged per step)
CULL_AFTER_MIN = 30  # a released notebook's pod goes this long after its last busy step
SHARED_POOL_REPLICAS = (2, 4, 8)  # the time-sliced pools' replicas
GIB = 1024**3
GPU = "nvidia.com/gpu"
# The instance family each GPU model runs on in these mixes (the pools' `elastic.instanceFamilies`).
FAMILY = {"NVIDIA L4": "g6", "NVIDIA L40S": "g6e", "NVIDIA A100-SXM4-40GB": "p4d", "NVIDIA H100 80GB HBM3": "p5",
          "Tesla T4": "g4dn"}
A100, H100 = "NVIDIA A100-SXM4-40GB", "NVIDIA H100 80GB HBM3"


@dataclass(frozen=True)
class Workload:
    name: str
    kind: str  # inference | training | notebook | batch
    model: str  # GPU model it runs on today (whole GPUs)
    gpus: int  # per pod
    memory_peak_gib: float  # per GPU
    pods: tuple[tuple[float, float], ...]  # (start minute, minutes) of each pod
    utilization: tuple[float, ...]  # one value per held GPU-step (every pod's steps)
    busy: tuple[tuple[float, float], ...] = ()  # notebook sessions: (start minute, minutes)


@dataclass(frozen=True)
class Pod:
    name: str
    start_min: float
    minutes: float
    requests: dict[str, int]
    pool: str
    workload: str
    memory_peak_gib: float


@dataclass(frozen=True)
class Mix:
    name: str
    workloads: tuple[Workload, ...]


# --- trace generation -----------------------------------------------------------------------------------------------


def _steps(start: float, minutes: float) -> range:
    return range(int(start // STEP_MIN), int(math.ceil((start + minutes) / STEP_MIN)))


def _diurnal(minute: float, phase_h: float) -> float:
    """Load of a user-facing service, 0.15 at night to 1 in the afternoon (07:00-21:00, shifted by phase_h)."""
    h = minute / 60 - phase_h
    return 0.15 + 0.85 * max(0.0, math.sin(math.pi * (h - 7) / 14)) if 7 <= h <= 21 else 0.15


def _noisy(rng: random.Random, value: float) -> float:
    return min(1.0, max(0.0, value * rng.lognormvariate(0, 0.25)))


def inference(rng: random.Random, name: str, memory_gib: tuple[float, float], util_peak: tuple[float, float],
              max_replicas: int, model: str = "NVIDIA L4") -> Workload:
    """A Deployment scaled hourly with its diurnal load (1 to max_replicas pods); each pod's utilization is its
    share of the load times the service's per-replica peak."""
    phase, peak, memory = rng.uniform(-1, 1), rng.uniform(*util_peak), rng.uniform(*memory_gib)
    replicas = [max(1, math.ceil(max_replicas * _diurnal(h * 60 + 30, phase) - 0.05)) for h in range(24)]
    pods: list[tuple[float, float]] = []
    for k in range(max_replicas):
        start = None
        for h in range(25):
            up = h < 24 and replicas[h] > k
            if up and start is None:
                start = h
            elif not up and start is not None:
                pods.append((start * 60.0, (h - start) * 60.0))
                start = None
    util = [_noisy(rng, peak * min(1.0, max_replicas * _diurnal(s * STEP_MIN, phase) / replicas[s * STEP_MIN // 60]))
            for start, minutes in pods for s in _steps(start, minutes)]
    return Workload(name, "inference", model, 1, round(memory * rng.uniform(1.0, 1.1), 2), tuple(pods), tuple(util))


def training(rng: random.Random, name: str, model: str, gpus: int, memory_gib: tuple[float, float]) -> Workload:
    """A multi-GPU Job of 3-8 hours, started 00:00-14:00, busy all along (a checkpoint dip now and then)."""
    start, hours = rng.uniform(0, 14 * 60), rng.uniform(3, 8)
    util = [rng.uniform(0.1, 0.3) if rng.random() < 0.03 else rng.uniform(0.88, 0.99)
            for _ in range(gpus) for _ in _steps(start, hours * 60)]
    return Workload(name, "training", model, gpus, round(rng.uniform(*memory_gib), 2), ((start, hours * 60),),
                    tuple(util))


def notebook(rng: random.Random, name: str) -> Workload:
    """A notebook opened at 08:00-10:00 and left open overnight, busy for one or two 15-40 minute sessions."""
    opened = rng.uniform(8 * 60, 10 * 60)
    sessions = []
    for _ in range(rng.randint(1, 2)):
        begin = rng.uniform(opened + 10, DAY_MIN - 120)
        sessions.append((begin, rng.uniform(15, 40)))
    sessions.sort()
    busy_steps = {s for b, m in sessions for s in _steps(b, m)}
    util = [rng.uniform(0.15, 0.6) if s in busy_steps else rng.uniform(0.0, 0.02)
            for s in _steps(opened, DAY_MIN - opened)]
    return Workload(name, "notebook", "NVIDIA L4", 1, round(rng.uniform(3, 9), 2), ((opened, DAY_MIN - opened),),
                    tuple(util), tuple(sessions))


def batch(rng: random.Random, name: str, bursts: int) -> Workload:
    """A CronJob's runs: a few bursts a day of 6-12 one-GPU pods (15-60 min each), busy while they run."""
    pods = []
    for b in range(bursts):
        at = rng.uniform(b * DAY_MIN / bursts, (b + 0.6) * DAY_MIN / bursts)
        pods += [(at + rng.uniform(0, 10), rng.uniform(15, 60)) for _ in range(rng.randint(6, 12))]
    util = [rng.uniform(0.75, 0.98) for start, minutes in pods for _ in _steps(start, minutes)]
    return Workload(name, "batch", "NVIDIA L4", 1, round(rng.uniform(8, 16), 2), tuple(sorted(pods)), tuple(util))


def inference_heavy(rng: random.Random, scale: float) -> list[Workload]:
    """Many small inference services (a few GiB, under 25 % busy), three larger ones, one fine-tuning job."""
    small = [inference(rng, f"svc-{i}", (2, 7), (0.06, 0.2), rng.randint(1, 3)) for i in range(round(36 * scale))]
    large = [inference(rng, f"llm-{i}", (10.5, 11.5), (0.3, 0.45), 2) for i in range(max(1, round(3 * scale)))]
    return small + large + [training(rng, "finetune-0", "NVIDIA L4", 4, (18, 21))]


def training_heavy(rng: random.Random, scale: float) -> list[Workload]:
    """A few large multi-GPU training jobs for hours (8 x A100 and 4 x L40S), two small inference services."""
    big = [training(rng, f"pretrain-{i}", A100, 8, (30, 38)) for i in range(max(1, round(4 * scale)))]
    mid = [training(rng, f"train-{i}", "NVIDIA L40S", 4, (30, 40)) for i in range(max(1, round(5 * scale)))]
    return big + mid + [inference(rng, f"svc-{i}", (2, 7), (0.06, 0.2), 2) for i in range(2)]


def mixed(rng: random.Random, scale: float) -> list[Workload]:
    """Inference services, notebooks idle most of the day, bursty batch, one 8-GPU training job."""
    return ([inference(rng, f"svc-{i}", (2, 7), (0.06, 0.2), rng.randint(1, 3)) for i in range(round(12 * scale))]
            + [notebook(rng, f"nb-{i}") for i in range(max(1, round(8 * scale)))]
            + [batch(rng, f"etl-{i}", rng.randint(2, 4)) for i in range(max(1, round(4 * scale)))]
            + [training(rng, "pretrain-0", A100, 8, (30, 38))])


def big_gpu_inference(rng: random.Random, scale: float) -> list[Workload]:
    """Inference where the GPUs are big: small services (embeddings, rerankers, classifiers: a few GiB, 5-10 % busy
    per replica) each on whole A100s (p4d) or H100s (p5), a few 7-13B models on H100s (13-25 GiB, 15-30 %), and
    one 8 x H100 fine-tuning job."""
    a100 = [inference(rng, f"a100-svc-{i}", (1.5, 7), (0.05, 0.09), rng.randint(1, 3), A100)
            for i in range(round(20 * scale))]
    h100 = [inference(rng, f"h100-svc-{i}", (3, 13), (0.05, 0.09), rng.randint(1, 3), H100)
            for i in range(round(12 * scale))]
    llm = [inference(rng, f"llm-{i}", (13, 25), (0.15, 0.3), 2, H100) for i in range(max(1, round(4 * scale)))]
    return a100 + h100 + llm + [training(rng, "finetune-0", H100, 8, (50, 70))]


MIXES: dict[str, tuple[int, Callable[[random.Random, float], list[Workload]]]] = {
    "inference-heavy": (1, inference_heavy),
    "training-heavy": (2, training_heavy),
    "mixed": (3, mixed),
    "big-gpu-inference": (4, big_gpu_inference),
}


def build_mix(name: str, scale: float = 1.0) -> Mix:
    seed, make = MIXES[name]
    return Mix(name, tuple(make(random.Random(seed), scale)))


# --- usage and recommendation -----------------------------------------------------------------------------------------


def usage(w: Workload) -> Usage:
    """The workload's usage as the report summarises its series (report._workload)."""
    model = gpu_model(w.model)
    assert model is not None, w.model
    values = sorted(w.utilization)
    return Usage(
        model=model, memory_total_bytes=model.memory_mib * 1024**2,
        utilization_mean=sum(values) / len(values),
        utilization_p95=values[max(0, math.ceil(0.95 * len(values)) - 1)],
        idle_share=sum(v < IDLE_UTILIZATION for v in values) / len(values),
        memory_peak_bytes=w.memory_peak_gib * GIB,
    )


def advise(mix: Mix) -> dict[str, Recommendation]:
    """The rightsize report's recommendation for each workload of the mix, by workload name."""
    return {w.name: recommend(usage(w)) for w in mix.workloads}


# --- pools and pods ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Placement:
    """Where a workload runs in one run: the pool's family and sharing, and how its pods change."""

    family: str
    replicas: int | None  # time-slicing replicas, None for whole GPUs
    released: bool = False
    mig: str | None = None  # the MIG profile every GPU of the pool is split into (`single`, all-<profile>)

    def pool_name(self, mix: str, run: str) -> str:
        sharing = f"ts{self.replicas}" if self.replicas else _mig_token(self.mig) if self.mig else "gpu"
        return f"{mix}-{run}-{sharing}-{self.family}"


# A pool name carries its sharing (`ts4`, `mig1g10gb`, `gpu`); pool names take no dots, so a MIG profile
# `<c>g.<m>gb` is written without its dot and read back by this pattern.
_MIG_TOKEN = re.compile(r"^mig(?P<compute>[0-9]+)g(?P<memory>[0-9]+)gb$")


def _mig_token(profile: str) -> str:
    token = "mig" + profile.replace(".", "")
    if not _MIG_TOKEN.match(token):
        raise ValueError(f"MIG profile {profile!r} has no pool name token (only plain <c>g.<m>gb profiles)")
    return token


def placement(w: Workload, advice: Recommendation | None) -> Placement:
    """Whole GPUs of today's family without advice (the `whole` run); else the recommendation applied."""
    family = FAMILY[w.model]
    if advice is None or advice.action == "keep":
        return Placement(family, None)
    if advice.action == "release":
        return Placement(family, None, released=True)
    if advice.action == "smaller-gpu":
        [model] = [m for m in GPU_MODELS.values() if advice.target == f"{m.name} ({m.instance_type})"]
        return Placement(family_of(model.instance_type), None)
    if advice.target.startswith("time-slicing x"):
        advised = int(advice.target.removeprefix("time-slicing x"))
        return Placement(family, max(r for r in SHARED_POOL_REPLICAS if r <= advised))
    profile = advice.target.removeprefix("mig ")
    gpu = mig_gpu(w.model)
    if gpu is None or profile not in gpu.profiles:
        raise ValueError(f"{w.name}: advice {advice.target!r} is not a MIG profile of its GPU, {w.model}")
    return Placement(family, None, mig=profile)


def _spans(w: Workload, where: Placement) -> list[tuple[float, float]]:
    if not where.released:
        return list(w.pods)
    spans: list[list[float]] = []  # [start, end]; a session that begins before the cull joins the one before
    for start, minutes in w.busy:
        end = min(start + minutes + CULL_AFTER_MIN, DAY_MIN)
        if spans and start <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], end)
        else:
            spans.append([start, end])
    return [(start, end - start) for start, end in spans]


def _pods(mix: Mix, run: str, places: dict[str, Placement]) -> list[Pod]:
    pods = []
    for w in mix.workloads:
        where = places[w.name]
        for k, (start, minutes) in enumerate(_spans(w, where)):
            pods.append(Pod(f"{mix.name}-{run}-{w.name}-{k}", start, minutes, {GPU: w.gpus},
                            where.pool_name(mix.name, run), w.name, w.memory_peak_gib))
    return pods


def whole_pods(mix: Mix) -> list[Pod]:
    return _pods(mix, "whole", {w.name: placement(w, None) for w in mix.workloads})


def rightsized_pods(mix: Mix, advice: dict[str, Recommendation]) -> list[Pod]:
    return _pods(mix, "rs", {w.name: placement(w, advice[w.name]) for w in mix.workloads})


def _sharing(token: str) -> dict[str, Any] | None:
    """The pool's `sharing` block from its name's sharing token."""
    if token.startswith("ts"):
        return {"timeSlicing": {"replicas": int(token.removeprefix("ts"))}}
    mig = _MIG_TOKEN.match(token)
    if mig:
        return {"mig": {"strategy": "single", "layout": f"all-{mig['compute']}g.{mig['memory']}gb"}}
    return None


def pool_config(pods: list[Pod], consolidate_after: str, general: bool = True) -> dict[str, Any]:
    """The platform config (the stack's values) with one elastic pool per pool the pods name
    (`<mix>-<run>-gpu|ts<N>|mig<profile>-<family>`): on-demand, of that family, time-slicing x N for `ts<N>`, MIG
    `single` all-<profile> for `mig<profile>`, capped at 256 GPUs (locally, 256 x the MIG devices per GPU)."""
    pools = []
    for name in sorted({p.pool for p in pods}):
        token, family = name.rsplit("-", 2)[-2:]
        pool: dict[str, Any] = {
            "name": name, "kind": "gpu",
            "elastic": {"instanceFamilies": [family], "capacityTypes": ["on-demand"], "limits": {"gpus": 256},
                        "disruption": {"consolidateAfter": consolidate_after}}}
        sharing = _sharing(token)
        if sharing is not None:
            pool["sharing"] = sharing
        pools.append(pool)
    if general:
        pools.insert(0, {"name": "general", "kind": "general", "instanceTypes": ["m6i.large"],
                         "scaling": {"min": 1, "max": 1}})
    return {"cluster": {"mode": "existing", "kubeconfig": "k"}, "nodePools": pools, "nodeAgent": {"enabled": False}}


def platform(pods: list[Pod], consolidate_after: str) -> PlatformConfig:
    return parse_platform_config(pool_config(pods, consolidate_after), "rightsize benchmark")


def shares_per_gpu(pool: NodePoolConfig) -> int:
    """The `nvidia.com/gpu` one GPU of the pool advertises: 1 for whole GPUs, the time-slicing replicas, or the MIG
    devices of its `single` layout (each pool is one GPU model: one family)."""
    assert pool.elastic is not None, pool.name
    facts = allowed_instance_types(pool.elastic, pool.instance_types)[0]
    return pool.advertised_gpu_resources(facts)[GPU] // facts.gpus


def slice_memory_mib(instance_type: str, sharing: SharingConfig | None) -> float:
    """The memory a pod's share of one GPU promises, by the recommender's rules: the whole GPU's memory; divided by
    the time-slicing replicas (time-slicing isolates no memory, so each of N pods may count on 1/N of it); or the
    MIG profile's memory slices' share of it (facts/mig.py, as `recommend` weighs a profile: 1g.5gb on an A100 40GB
    is 1/8 of 40960 MiB)."""
    facts = INSTANCE_TYPES[instance_type]
    if sharing is None:
        return facts.gpu_memory_mib
    if sharing.mig is None:
        replicas = (sharing.time_slicing or sharing.mps).replicas  # type: ignore[union-attr]  # one is set
        return facts.gpu_memory_mib / replicas
    gpu = mig_gpu(facts.gpu_model)
    assert gpu is not None, facts.gpu_model  # validation: MIG pools are of MIG-capable models
    [profile] = set(sharing.mig.profiles_per_gpu(gpu))  # `single`: one profile
    mig = mig_slice(facts.gpu_model, profile)
    assert mig is not None, profile
    return facts.gpu_memory_mib * mig.memory_share
