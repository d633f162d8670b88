"""Replaying GPU pods through the real kube-scheduler and the real Karpenter on a kwok cluster of a benchmark's own.

Used by elastic_gpu.py and rightsize_replay.py. A `Cluster` is scripts/cluster.sh under the benchmark's own cluster
name and state folder (its control plane on random ports), so it never meets the test clusters; it is torn down
on leaving the `with` block, on Ctrl-C and on SIGTERM too. `replay` creates and deletes bare pods on a compressed
clock and watches what the scheduler and Karpenter do: when each pod ran, on which node, which nodes came and went.
`node_hours` turns the nodes seen into GPU-hours and dollars of trace time.
"""

from __future__ import annotations

import heapq
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubernetes import client, config as kube_config
from kubernetes.client.exceptions import ApiException

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "components"))

from gpu_node_pools.config.node_pool import NodePoolConfig  # noqa: E402
from gpu_node_pools.contract import IsolationContract  # noqa: E402
from gpu_node_pools.facts.instance_types import INSTANCE_TYPES, InstanceType  # noqa: E402
from gpu_node_pools.manifests.karpenter import KWOK_NODE_CLASS_REF, node_pool  # noqa: E402

POOL_LABEL = "gpu-node-pools.io/pool"
NODEPOOL_LABEL = "karpenter.sh/nodepool"
INSTANCE_TYPE_LABEL = "node.kubernetes.io/instance-type"
IMAGE = "registry.k8s.io/pause:3.10"
NAMESPACE = "bench"
REPLAY_LABEL = "bench"


def run(*cmd: str, env: dict[str, str] | None = None, cwd: Path | None = None, input: str | None = None) -> str:
    """A command's stdout; exits the benchmark with its stderr when it fails."""
    proc = subprocess.run(cmd, env=env, cwd=cwd, input=input, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return proc.stdout


def _terminate(signum: int, _frame: object) -> None:
    # SIGTERM as Ctrl-C: unwind through the `with` block so the cluster goes down.
    raise SystemExit(128 + signum)


class Cluster:
    """A benchmark's own local cluster (scripts/cluster.sh under its own name and state folder).

    `project`: a folder holding Pulumi.yaml and stacks/Pulumi.<stack>.yaml; cluster.sh reads the stack from the
    project around its working folder, so the stack's managed pools become the simulated nodes and its shared
    elastic pools' instance-type copies are offered by the local Karpenter. Default: this repository's `local`."""

    def __init__(self, name: str, project: Path | None = None, stack: str = "local") -> None:
        self.state = Path(tempfile.mkdtemp(prefix=f"{name}-"))
        self.env = {**os.environ, "GNP_STATE": str(self.state), "GNP_CLUSTER_NAME": name, "GNP_STACK": stack}
        self.project = project or ROOT

    def _script(self, command: str) -> None:
        run(str(ROOT / "scripts" / "cluster.sh"), command, env=self.env, cwd=self.project)

    def __enter__(self) -> Cluster:
        signal.signal(signal.SIGTERM, _terminate)
        try:
            self._script("up")
            api = kube_config.new_client_from_config(config_file=str(self.state / "kubeconfig"))
            self.core, self.custom = client.CoreV1Api(api), client.CustomObjectsApi(api)
            self.core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=NAMESPACE)))
        except BaseException:
            self._script("down")
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._script("down")
        shutil.rmtree(self.state, ignore_errors=True)

    def apply_node_pool(self, pool: NodePoolConfig, contract: IsolationContract) -> None:
        self.custom.create_cluster_custom_object("karpenter.sh", "v1", "nodepools",
                                                 node_pool(pool, contract, KWOK_NODE_CLASS_REF))

    def delete_node_pool(self, name: str) -> None:
        self.custom.delete_cluster_custom_object("karpenter.sh", "v1", "nodepools", name)
        self.wait(lambda: not self.nodes(name), 180, f"NodePool {name}'s nodes gone")

    def nodes(self, pool: str | None = None) -> list[client.V1Node]:
        selector = f"{NODEPOOL_LABEL}={pool}" if pool else NODEPOOL_LABEL
        return self.core.list_node(label_selector=selector).items

    def create_pod(self, name: str, requests: Mapping[str, int], pool: str) -> None:
        """A bare pause pod asking for `requests` (extended resources: limits equal requests) on `pool`'s nodes,
        tolerating the GPU taint."""
        extended = {k: str(v) for k, v in requests.items()}
        resources = {"requests": {**extended, "cpu": "100m", "memory": "64Mi"}, "limits": extended}
        body = {"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": name, "labels": {REPLAY_LABEL: "1"}},
                "spec": {"containers": [{"name": "main", "image": IMAGE, "resources": resources}],
                         "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists"}],
                         "nodeSelector": {POOL_LABEL: pool}, "terminationGracePeriodSeconds": 0}}
        self.core.create_namespaced_pod(NAMESPACE, body)

    def pods(self) -> list[client.V1Pod]:
        return self.core.list_namespaced_pod(NAMESPACE, label_selector=f"{REPLAY_LABEL}=1").items

    def delete_pod(self, name: str) -> bool:
        """Deletes the pod; False if it was already gone: deleted by the cluster before its end (a bare pod evicted
        from a node Karpenter gives back is not recreated). Seen once in a 1440x replay, cause not traced."""
        try:
            self.core.delete_namespaced_pod(name, NAMESPACE, grace_period_seconds=0)
        except ApiException as e:
            if e.status != 404:
                raise
            return False
        return True

    @staticmethod
    def wait(check: Callable[[], Any], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                sys.exit(f"timed out after {timeout:.0f}s waiting for {what}")
            time.sleep(0.2)


@dataclass(frozen=True)
class PodSpan:
    """One pod of a trace: created at `start_min`, deleted `minutes` later (trace minutes)."""

    name: str
    start_min: float
    minutes: float
    requests: Mapping[str, int]
    pool: str


@dataclass
class NodeSeen:
    pool: str
    instance_type: InstanceType
    labels: dict[str, str]
    price: float
    created: float  # real seconds since the replay began
    deleted: float | None = None
    busy_until: float = 0.0
    pods: set[str] = field(default_factory=set)

    @property
    def gpus(self) -> int:
        return self.instance_type.gpus


@dataclass
class Replay:
    """What the cluster did with a trace, in real seconds since the replay began."""

    created: dict[str, float]
    started: dict[str, float]
    placed: dict[str, str]  # pod -> node
    nodes: dict[str, NodeSeen]
    end: float
    gone: set[str] = field(default_factory=set)  # pods deleted by the cluster before their end (evicted)

    def delays(self, pods: Iterable[str]) -> list[float]:
        return sorted(self.started[p] - self.created[p] for p in pods if p in self.started)


def instance_facts(node_labels: Mapping[str, str]) -> InstanceType:
    """The table's row for a node's instance type; a shared pool's local copy (`g6.xlarge.<pool>`) is its type."""
    name = node_labels[INSTANCE_TYPE_LABEL]
    while name not in INSTANCE_TYPES and "." in name:
        name = name.rsplit(".", 1)[0]
    return INSTANCE_TYPES[name]


def replay(cluster: Cluster, spans: list[PodSpan], compress: float, pools: Iterable[str], *,
           run_from_start: bool = False, drain_s: float = 300, stuck_s: float = 300, poll_s: float = 0.4) -> Replay:
    """Create `spans`' pods at `compress` times real speed and delete each `minutes` later: after its creation, or
    with `run_from_start` after it started Running (a job runs its length however long it waited; a pod of a few
    trace minutes would otherwise be gone before Karpenter's real-time launch). A pod still not Running `stuck_s`
    real seconds after its creation is deleted and never counts as started. Watches `pools`' nodes; after the last
    deletion waits (up to `drain_s`) until Karpenter has given every node back."""
    watched = set(pools)
    starts = sorted(spans, key=lambda s: s.start_min, reverse=True)  # popped from the end
    ends: list[tuple[float, str]] = []  # heap of (real second, pod)
    by_name = {s.name: s for s in spans}
    t0 = time.monotonic()
    created: dict[str, float] = {}
    started: dict[str, float] = {}
    placed: dict[str, str] = {}
    nodes: dict[str, NodeSeen] = {}
    ended: set[str] = set()
    gone: set[str] = set()

    def observe() -> None:
        now = time.monotonic() - t0
        for p in cluster.pods():
            name = p.metadata.name
            if p.status.phase == "Running" and name not in started and name not in ended:
                started[name] = now
                if run_from_start and name in by_name:
                    heapq.heappush(ends, (now + by_name[name].minutes * 60 / compress, name))
            if p.spec.node_name:
                placed[name] = p.spec.node_name
            if p.spec.node_name in nodes and name not in ended:
                nodes[p.spec.node_name].pods.add(name)
                nodes[p.spec.node_name].busy_until = now
        live = {n.metadata.name: n for n in cluster.nodes() if n.metadata.labels.get(NODEPOOL_LABEL) in watched}
        for name, node in live.items():
            if name not in nodes:
                labels = dict(node.metadata.labels)
                facts = instance_facts(labels)
                price = facts.usd_hour if labels["karpenter.sh/capacity-type"] == "on-demand" else facts.spot_usd_hour
                nodes[name] = NodeSeen(labels[NODEPOOL_LABEL], facts, labels, price, created=now)
        for name, seen in nodes.items():
            if name not in live and seen.deleted is None:
                seen.deleted = now

    def end(name: str) -> None:
        if name not in ended:
            if not cluster.delete_pod(name):
                gone.add(name)
            ended.add(name)

    while starts or len(ended) < len(created):
        now = time.monotonic() - t0
        # Deletions before creations at the same instant, so a node freed now serves the next pod.
        while ends and ends[0][0] <= now:
            end(heapq.heappop(ends)[1])
        for name in [n for n, at in created.items() if n not in started and n not in ended and now - at > stuck_s]:
            end(name)
        while starts and starts[-1].start_min * 60 / compress <= now:
            span = starts.pop()
            cluster.create_pod(span.name, span.requests, span.pool)
            created[span.name] = time.monotonic() - t0
            if not run_from_start:
                heapq.heappush(ends, ((span.start_min + span.minutes) * 60 / compress, span.name))
        observe()
        time.sleep(poll_s)
    deadline = time.monotonic() + drain_s
    while any(n.deleted is None for n in nodes.values()) and time.monotonic() < deadline:
        observe()
        time.sleep(poll_s)
    observe()
    return Replay(created, started, placed, nodes, time.monotonic() - t0, gone)


def node_hours(nodes: Iterable[NodeSeen], compress: float, consolidate_real_s: float, end: float
               ) -> tuple[float, float]:
    """(GPU-hours, dollars) of trace time for `nodes`. Karpenter's delays are wall-clock, not trace time: a node's
    busy span and consolidateAfter count in trace time, Karpenter's give-back delay beyond consolidateAfter
    unscaled (a node not yet gone counts until `end`)."""
    gpu_h = usd = 0.0
    for seen in nodes:
        deleted = seen.deleted if seen.deleted is not None else end
        busy_until = max(seen.busy_until, seen.created)
        give_back_real = max(0.0, deleted - busy_until)
        trace_h = ((busy_until - seen.created) * compress + min(give_back_real, consolidate_real_s) * compress
                   + max(0.0, give_back_real - consolidate_real_s)) / 3600
        gpu_h += seen.gpus * trace_h
        usd += seen.price * trace_h
    return gpu_h, usd
