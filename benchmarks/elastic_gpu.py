"""Elastic GPU pools through the real Karpenter on kwok, on a cluster of this script's own.

    .venv/bin/python benchmarks/elastic_gpu.py latency          # scale-from-zero latency vs a warm static pool
    .venv/bin/python benchmarks/elastic_gpu.py trace [--compress 200]   # one day of GPU jobs, static vs elastic

latency: for several shapes (pods x GPUs each), the time from creating the GPU pods to all of them Running, on an
elastic pool with no node (cold: Karpenter launches them), then the same pods again onto the nodes just launched
(warm: what a static pool with room gives); the ratio is cold / warm. kwok nodes boot at once: on EKS add the
instance's boot and image pull (typically 1-3 minutes for GPU AMIs) to the cold figure.

trace: one day of bursty training (4-GPU pods, hours) and inference (1-GPU pods, tens of minutes, in bursts), idle
at night, replayed at `--compress` times real speed through an elastic pool (g6, on-demand, consolidateAfter 10m of
trace time, capped at the static pool's GPUs). GPU-hours and dollars (the instance table's on-demand prices)
against a static pool of g6.12xlarge sized for the trace's peak (busy 24 h: nothing scales it). Karpenter's own
delays are wall-clock, not trace time, so they are not multiplied by the compression: a job's start delay is
reported in real seconds (target: within 120 s), and a node's lifetime counts its busy span and consolidateAfter
in trace time plus Karpenter's real give-back delay beyond consolidateAfter, unscaled.
"""

from __future__ import annotations

import argparse
import math
import random
import time
import uuid
from dataclasses import dataclass
from typing import Any

from kwok_replay import INSTANCE_TYPE_LABEL, Cluster, PodSpan, node_hours, replay

from gpu_node_pools.config.platform import PlatformConfig, parse_platform_config
from gpu_node_pools.facts.instance_types import INSTANCE_TYPES

CLUSTER = "gnp-elastic"
GPU = "nvidia.com/gpu"
STATIC_TYPE = "g6.12xlarge"


def elastic_pool(**elastic: Any) -> PlatformConfig:
    """A platform with one elastic GPU pool of a fresh name (`elastic` is its `elastic` block)."""
    return parse_platform_config({
        "cluster": {"mode": "existing", "kubeconfig": "k"},
        "nodePools": [{"name": f"bench-{uuid.uuid4().hex[:5]}", "kind": "gpu", "elastic": elastic}],
        "nodeAgent": {"image": "gpu-node-agent:local"},
    }, "benchmark")


def apply_pool(cluster: Cluster, **elastic: Any) -> str:
    config = elastic_pool(**elastic)
    cluster.apply_node_pool(config.node_pools[0], config.contract)
    return config.node_pools[0].name


# --- latency --------------------------------------------------------------------------------------------------------

SHAPES = [(1, 1), (4, 1), (1, 4), (8, 1)]  # (pods, GPUs each)


def time_to_running(cluster: Cluster, pods: int, gpus: int, pool: str) -> float:
    names = [f"p-{uuid.uuid4().hex[:6]}" for _ in range(pods)]
    start = time.monotonic()
    for name in names:
        cluster.create_pod(name, {GPU: gpus}, pool)
    cluster.wait(lambda: sum(p.status.phase == "Running" for p in cluster.pods()) == pods, 180, "pods Running")
    elapsed = time.monotonic() - start
    for name in names:
        cluster.delete_pod(name)
    cluster.wait(lambda: not cluster.pods(), 60, "pods gone")
    return elapsed


def latency(_: argparse.Namespace) -> None:
    with Cluster(CLUSTER) as cluster:
        print("scale-from-zero latency: GPU pods created -> all Running (real seconds). cold: the elastic pool has no "
              "node, Karpenter launches them; warm: the same pods again at once, onto the nodes just launched (what "
              "a static pool with room gives)")
        print(f"{'shape':<18}{'cold s':>8}{'warm s':>8}{'ratio':>8}  nodes Karpenter launched")
        for pods, gpus in SHAPES:
            # consolidateAfter 60s: the nodes stay for the warm run.
            pool = apply_pool(cluster, instanceFamilies=["g6"], capacityTypes=["on-demand"],
                              limits={"gpus": 64}, disruption={"consolidateAfter": "60s"})
            cold = time_to_running(cluster, pods, gpus, pool)
            launched = sorted(n.metadata.labels[INSTANCE_TYPE_LABEL] for n in cluster.nodes(pool))
            warm = time_to_running(cluster, pods, gpus, pool)
            again = sorted(n.metadata.labels[INSTANCE_TYPE_LABEL] for n in cluster.nodes(pool))
            assert again == launched, f"the warm run launched nodes: {launched} -> {again}"
            cluster.delete_node_pool(pool)
            print(f"{f'{pods} pod(s) x {gpus} GPU':<18}{cold:>8.2f}{warm:>8.2f}{cold / warm:>8.1f}  {', '.join(launched)}",
                  flush=True)


# --- trace ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    name: str
    start_min: float
    minutes: float
    gpus: int


def day_trace(seed: int = 9) -> list[Job]:
    """One working day: five 4-GPU training runs started 09:00-15:00 (1-3 h each); four bursts of 1-GPU inference
    (six pods each within 10 minutes, 20-50 min); nothing between 20:00 and 08:00."""
    rng = random.Random(seed)
    jobs = [Job(f"train-{i}", rng.uniform(9 * 60, 15 * 60), rng.uniform(60, 180), 4) for i in range(5)]
    for b, burst in enumerate((10 * 60, 13 * 60, 16 * 60, 18 * 60 + 30)):
        jobs += [Job(f"infer-{b}-{i}", burst + rng.uniform(0, 10), rng.uniform(20, 50), 1) for i in range(6)]
    return sorted(jobs, key=lambda j: j.start_min)


def static_nodes_for_peak(jobs: list[Job], gpus_per_node: int) -> int:
    """Nodes of `gpus_per_node` a fixed pool needs so every job starts on submission: at each start, the training
    jobs running (a node each) plus the inference pods running packed onto whole nodes."""
    peak = 0
    for t in sorted({j.start_min for j in jobs}):
        running = [j for j in jobs if j.start_min <= t < j.start_min + j.minutes]
        train = sum(1 for j in running if j.gpus == gpus_per_node)
        infer = sum(j.gpus for j in running if j.gpus < gpus_per_node)
        peak = max(peak, train + math.ceil(infer / gpus_per_node))
    return peak


def trace(args: argparse.Namespace) -> None:
    jobs = day_trace()
    compress = args.compress
    static_type = INSTANCE_TYPES[STATIC_TYPE]
    static_nodes = static_nodes_for_peak(jobs, static_type.gpus)
    static_gpus = static_nodes * static_type.gpus
    consolidate_trace_min = 10.0
    consolidate_real_s = max(1, round(consolidate_trace_min * 60 / compress))
    with Cluster(CLUSTER) as cluster:
        pool = apply_pool(cluster, instanceFamilies=["g6"], capacityTypes=["on-demand"], limits={"gpus": static_gpus},
                          disruption={"consolidateAfter": f"{consolidate_real_s}s"})
        print(f"replaying {len(jobs)} jobs over 24 h at {compress}x ({24 * 3600 / compress / 60:.1f} min real); "
              f"consolidateAfter {consolidate_trace_min:.0f} min of trace = {consolidate_real_s}s real", flush=True)
        seen = replay(cluster, [PodSpan(j.name, j.start_min, j.minutes, {GPU: j.gpus}, pool) for j in jobs],
                      compress, [pool], poll_s=0.25)

    missing = [j.name for j in jobs if j.name not in seen.started]
    delays = seen.delays(j.name for j in jobs)
    elastic_gpu_h, elastic_usd = node_hours(seen.nodes.values(), compress, consolidate_real_s, seen.end)
    static_gpu_h = static_gpus * 24.0
    static_usd = static_nodes * static_type.usd_hour * 24.0
    job_gpu_h = sum(j.gpus * j.minutes / 60 for j in jobs)
    print(f"trace: {len(jobs)} jobs, {job_gpu_h:.1f} GPU-hours of work; static pool for the peak: {static_nodes} x "
          f"{STATIC_TYPE} = {static_gpus} GPUs")
    print(f"{'pool':<34}{'GPU-hours':>10}{'USD':>10}{'vs static':>11}")
    print(f"{'static, sized for the peak':<34}{static_gpu_h:>10.1f}{static_usd:>10.2f}{1.0:>11.2f}")
    print(f"{'elastic (Karpenter, g6 on-demand)':<34}{elastic_gpu_h:>10.1f}{elastic_usd:>10.2f}"
          f"{elastic_gpu_h / static_gpu_h:>11.2f}")
    print(f"elastic nodes launched: {len(seen.nodes)}; job start delay (real s): median "
          f"{delays[len(delays) // 2]:.1f}, max {delays[-1]:.1f}; jobs never started: {len(missing)}")
    ok = elastic_gpu_h <= 0.5 * static_gpu_h and not missing and delays[-1] <= 120
    print(f"target (elastic <= 0.5 x static GPU-hours, every job started within 120 s): {'met' if ok else 'NOT met'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("latency", help="scale-from-zero latency against a warm static pool")
    replay = commands.add_parser("trace", help="one day of GPU jobs through Karpenter, static vs elastic")
    replay.add_argument("--compress", type=float, default=200, help="trace seconds per real second (default 200)")
    args = parser.parse_args()
    {"latency": latency, "trace": trace}[args.command](args)


if __name__ == "__main__":
    main()
