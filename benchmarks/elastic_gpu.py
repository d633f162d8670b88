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
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubernetes import client, config as kube_config

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "components"))

from gpu_node_pools.config.platform import parse_platform_config  # noqa: E402
from gpu_node_pools.facts.instance_types import INSTANCE_TYPES  # noqa: E402
from gpu_node_pools.manifests.karpenter import KWOK_NODE_CLASS_REF, node_pool  # noqa: E402

CLUSTER = "gnp-elastic"
GPU = "nvidia.com/gpu"
POOL_LABEL = "gpu-node-pools.io/pool"
NODEPOOL_LABEL = "karpenter.sh/nodepool"
IMAGE = "registry.k8s.io/pause:3.10"
NAMESPACE = "bench"
STATIC_TYPE = "g6.12xlarge"


def run(*cmd: str, env: dict[str, str] | None = None, input: str | None = None) -> str:
    proc = subprocess.run(cmd, env=env, input=input, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return proc.stdout


class Cluster:
    """This script's own local cluster (scripts/cluster.sh under a separate name and state folder)."""

    def __init__(self) -> None:
        self.state = Path(tempfile.mkdtemp(prefix="gnp-elastic-"))
        self.env = {**os.environ, "GNP_STATE": str(self.state), "GNP_CLUSTER_NAME": CLUSTER}

    def __enter__(self) -> Cluster:
        run(str(ROOT / "scripts" / "cluster.sh"), "up", env=self.env)
        api = kube_config.new_client_from_config(config_file=str(self.state / "kubeconfig"))
        self.core, self.custom = client.CoreV1Api(api), client.CustomObjectsApi(api)
        self.core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=NAMESPACE)))
        return self

    def __exit__(self, *exc: object) -> None:
        run(str(ROOT / "scripts" / "cluster.sh"), "down", env=self.env)

    def apply_node_pool(self, **elastic: Any) -> str:
        name = f"bench-{uuid.uuid4().hex[:5]}"
        config = parse_platform_config({
            "cluster": {"mode": "existing", "kubeconfig": "k"},
            "nodePools": [{"name": name, "kind": "gpu", "elastic": elastic}],
            "nodeAgent": {"image": "gpu-node-agent:local"},
        }, "benchmark")
        self.custom.create_cluster_custom_object("karpenter.sh", "v1", "nodepools",
                                                 node_pool(config.node_pools[0], config.contract, KWOK_NODE_CLASS_REF))
        return name

    def delete_node_pool(self, name: str) -> None:
        self.custom.delete_cluster_custom_object("karpenter.sh", "v1", "nodepools", name)
        self.wait(lambda: not self.nodes(name), 180, f"NodePool {name}'s nodes gone")

    def nodes(self, pool: str) -> list[client.V1Node]:
        return self.core.list_node(label_selector=f"{NODEPOOL_LABEL}={pool}").items

    def create_pod(self, name: str, gpus: int, pool: str) -> None:
        resources = {"requests": {GPU: str(gpus), "cpu": "100m", "memory": "64Mi"}, "limits": {GPU: str(gpus)}}
        body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"bench": "1"}},
                "spec": {"containers": [{"name": "main", "image": IMAGE, "resources": resources}],
                         "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists"}],
                         "nodeSelector": {POOL_LABEL: pool}, "terminationGracePeriodSeconds": 0}}
        self.core.create_namespaced_pod(NAMESPACE, body)

    def pods(self) -> list[client.V1Pod]:
        return self.core.list_namespaced_pod(NAMESPACE, label_selector="bench=1").items

    def delete_pod(self, name: str) -> None:
        self.core.delete_namespaced_pod(name, NAMESPACE, grace_period_seconds=0)

    @staticmethod
    def wait(check: Any, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                sys.exit(f"timed out after {timeout:.0f}s waiting for {what}")
            time.sleep(0.2)


# --- latency --------------------------------------------------------------------------------------------------------

SHAPES = [(1, 1), (4, 1), (1, 4), (8, 1)]  # (pods, GPUs each)


def time_to_running(cluster: Cluster, pods: int, gpus: int, pool: str) -> float:
    names = [f"p-{uuid.uuid4().hex[:6]}" for _ in range(pods)]
    start = time.monotonic()
    for name in names:
        cluster.create_pod(name, gpus, pool)
    cluster.wait(lambda: sum(p.status.phase == "Running" for p in cluster.pods()) == pods, 180, "pods Running")
    elapsed = time.monotonic() - start
    for name in names:
        cluster.delete_pod(name)
    cluster.wait(lambda: not cluster.pods(), 60, "pods gone")
    return elapsed


def latency(_: argparse.Namespace) -> None:
    with Cluster() as cluster:
        print("scale-from-zero latency: GPU pods created -> all Running (real seconds). cold: the elastic pool has no "
              "node, Karpenter launches them; warm: the same pods again at once, onto the nodes just launched (what "
              "a static pool with room gives)")
        print(f"{'shape':<18}{'cold s':>8}{'warm s':>8}{'ratio':>8}  nodes Karpenter launched")
        for pods, gpus in SHAPES:
            # consolidateAfter 60s: the nodes stay for the warm run.
            pool = cluster.apply_node_pool(instanceFamilies=["g6"], capacityTypes=["on-demand"],
                                           limits={"gpus": 64}, disruption={"consolidateAfter": "60s"})
            cold = time_to_running(cluster, pods, gpus, pool)
            launched = sorted(n.metadata.labels["node.kubernetes.io/instance-type"] for n in cluster.nodes(pool))
            warm = time_to_running(cluster, pods, gpus, pool)
            again = sorted(n.metadata.labels["node.kubernetes.io/instance-type"] for n in cluster.nodes(pool))
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


@dataclass
class NodeSeen:
    gpus: int
    price: float
    created: float
    deleted: float | None = None
    busy_until: float = 0.0
    pods: set[str] = field(default_factory=set)


def trace(args: argparse.Namespace) -> None:
    jobs = day_trace()
    compress = args.compress
    static_type = INSTANCE_TYPES[STATIC_TYPE]
    static_nodes = static_nodes_for_peak(jobs, static_type.gpus)
    static_gpus = static_nodes * static_type.gpus
    consolidate_trace_min = 10.0
    consolidate_real_s = max(1, round(consolidate_trace_min * 60 / compress))
    with Cluster() as cluster:
        pool = cluster.apply_node_pool(instanceFamilies=["g6"], capacityTypes=["on-demand"],
                                       limits={"gpus": static_gpus},
                                       disruption={"consolidateAfter": f"{consolidate_real_s}s"})
        events = sorted([(j.start_min * 60 / compress, "start", j) for j in jobs]
                        + [((j.start_min + j.minutes) * 60 / compress, "end", j) for j in jobs], key=lambda e: e[0])
        print(f"replaying {len(jobs)} jobs over 24 h at {compress}x ({24 * 3600 / compress / 60:.1f} min real); "
              f"consolidateAfter {consolidate_trace_min:.0f} min of trace = {consolidate_real_s}s real", flush=True)
        t0 = time.monotonic()
        created: dict[str, float] = {}
        started: dict[str, float] = {}
        nodes: dict[str, NodeSeen] = {}
        ended: set[str] = set()

        def observe() -> None:
            now = time.monotonic() - t0
            for p in cluster.pods():
                name = p.metadata.name
                if p.status.phase == "Running" and name not in started:
                    started[name] = now
                if p.spec.node_name in nodes and name not in ended:
                    nodes[p.spec.node_name].pods.add(name)
                    nodes[p.spec.node_name].busy_until = now
            live = {n.metadata.name: n for n in cluster.nodes(pool)}
            for name, node in live.items():
                if name not in nodes:
                    labels = node.metadata.labels
                    facts = INSTANCE_TYPES[labels["node.kubernetes.io/instance-type"]]
                    price = facts.usd_hour if labels["karpenter.sh/capacity-type"] == "on-demand" else facts.spot_usd_hour
                    nodes[name] = NodeSeen(gpus=facts.gpus, price=price, created=now)
            for name, seen in nodes.items():
                if name not in live and seen.deleted is None:
                    seen.deleted = now

        for at, kind, job in events:
            while time.monotonic() - t0 < at:
                observe()
                time.sleep(0.25)
            if kind == "start":
                cluster.create_pod(job.name, job.gpus, pool)
                created[job.name] = time.monotonic() - t0
            else:
                cluster.delete_pod(job.name)
                ended.add(job.name)
        deadline = time.monotonic() + 300
        while any(n.deleted is None for n in nodes.values()) and time.monotonic() < deadline:
            observe()
            time.sleep(0.25)
        observe()

    missing = [j.name for j in jobs if j.name not in started]
    delays = sorted(started[j.name] - created[j.name] for j in jobs if j.name in started)
    elastic_gpu_h = elastic_usd = 0.0
    for seen in nodes.values():
        deleted = seen.deleted if seen.deleted is not None else time.monotonic() - t0
        busy_until = max(seen.busy_until, seen.created)
        give_back_real = max(0.0, deleted - busy_until)
        # Busy span and consolidateAfter in trace time; Karpenter's delay beyond consolidateAfter is wall-clock.
        trace_h = ((busy_until - seen.created) * compress + min(give_back_real, consolidate_real_s) * compress
                   + max(0.0, give_back_real - consolidate_real_s)) / 3600
        elastic_gpu_h += seen.gpus * trace_h
        elastic_usd += seen.price * trace_h
    static_gpu_h = static_gpus * 24.0
    static_usd = static_nodes * static_type.usd_hour * 24.0
    job_gpu_h = sum(j.gpus * j.minutes / 60 for j in jobs)
    print(f"trace: {len(jobs)} jobs, {job_gpu_h:.1f} GPU-hours of work; static pool for the peak: {static_nodes} x "
          f"{STATIC_TYPE} = {static_gpus} GPUs")
    print(f"{'pool':<34}{'GPU-hours':>10}{'USD':>10}{'vs static':>11}")
    print(f"{'static, sized for the peak':<34}{static_gpu_h:>10.1f}{static_usd:>10.2f}{1.0:>11.2f}")
    print(f"{'elastic (Karpenter, g6 on-demand)':<34}{elastic_gpu_h:>10.1f}{elastic_usd:>10.2f}"
          f"{elastic_gpu_h / static_gpu_h:>11.2f}")
    print(f"elastic nodes launched: {len(nodes)}; job start delay (real s): median {delays[len(delays) // 2]:.1f}, "
          f"max {delays[-1]:.1f}; jobs never started: {len(missing)}")
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
