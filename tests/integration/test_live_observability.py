"""Live GPU data end to end: live agents for every GPU node and a real Prometheus evaluating the generated rules.

scripts/local_observability.py (what `make up` runs through `cluster.sh observe`) starts a `gpu-node-agent` per GPU
node, each with a token bound to its node's agent pod, and Prometheus with the stack's scrape job and rules (here
`for:` is 6 s and scrapes, evaluations and agent reads run every second). One node's simulated GPU is driven into
memory pressure and another node's agent is frozen: GpuMemoryPressure and GpuNodeAgentDown must go pending, then
firing, in Prometheus' API, and resolve when the pressure ends and the agent thaws. Then an agent is killed: the
others keep serving and it comes back. A GPU pod gets its node's pod-labelled series (the supervisor plays the
kubelet's device allocation) and a line in the rightsize report. The series used (`gpu_node_agent_gpu_memory_*_bytes`, `up`) keep their names
across the agent's metric rename.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from gnp_cluster import ROOT, AppliedLayer, LocalCluster, kubectl_path, wait_for
from gnp_workloads import agent_daemonset, agent_prefix
from prometheus_tools import prometheus_binaries

pytestmark = [pytest.mark.cluster, pytest.mark.toolchain]

PRESSURE_FROM, PRESSURE_UNTIL = 25, 50  # seconds into the pressure node's trace
SHORT_FOR = {"gpu": {"memoryFor": "6s", "agentDownFor": "6s"}}
PRESSURE = {
    "driverVersion": "550.54.15",
    "cudaDriverVersion": 12040,
    "gpus": [{"name": "NVIDIA A10G", "memoryTotalMiB": 23028, "computeCapability": "8.6", "migCapable": False,
              "utilization": 60, "memoryUsedMiB": 12000, "temperature": 50, "powerWatts": 150}],
    "samples": [
        {"t": 0, "memoryUsedMiB": 12000},
        {"t": PRESSURE_FROM, "memoryUsedMiB": 22900},  # 99 % of the framebuffer
        {"t": PRESSURE_UNTIL, "memoryUsedMiB": 12000},
        {"t": 3600, "memoryUsedMiB": 12000},  # hold (no loop within the test)
    ],
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def free_port_range(count: int) -> int:
    for _ in range(50):
        base = random.randrange(20000, 40000)
        try:
            sockets = []
            for port in range(base, base + count):
                s = socket.socket()
                sockets.append(s)
                s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    raise AssertionError("no free port range")


@dataclass
class Observability:
    proc: subprocess.Popen[bytes]
    workdir: Path
    url: str
    pressure_node: str
    started: float
    log: Path

    def state(self) -> dict[str, Any]:
        return json.loads((self.workdir / "state.json").read_text())

    def api(self, path: str, **params: str) -> Any:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        with urllib.request.urlopen(f"{self.url}{path}{query}", timeout=5) as resp:
            return json.load(resp)["data"]

    def up_nodes(self) -> set[str]:
        try:
            result = self.api("/api/v1/query", query='up{job="gpu-node-agent"} == 1')["result"]
        except OSError:
            return set()
        return {r["metric"]["node"] for r in result}

    def alert_states(self) -> dict[tuple[str, str], str]:
        """(alertname, node) -> pending|firing, from Prometheus' alerts API."""
        return {(a["labels"]["alertname"], a["labels"].get("node", "")): a["state"]
                for a in self.api("/api/v1/alerts")["alerts"]}

    def logs(self) -> str:
        parts = [self.log.read_text()[-2000:]]
        parts += [f"--- {p.name}\n{p.read_text()[-1500:]}" for p in sorted((self.workdir / "logs").glob("*.log"))]
        return "\n".join(parts)


@pytest.fixture
def observability(local_cluster: LocalCluster, local_layer: AppliedLayer, tmp_path: Path) -> Iterator[Observability]:
    ds = agent_daemonset(local_layer)
    namespace, prefix = ds["metadata"]["namespace"], agent_prefix(ds)
    selector = ",".join(f"{k}={v}" for k, v in ds["spec"]["selector"]["matchLabels"].items())
    nodes = wait_for(lambda: sorted(p.spec.node_name for p in local_cluster.pods(namespace, selector)
                                    if p.status.phase == "Running") or None, 120, "running agent pods")
    gpu_nodes = [n.metadata.name for n in local_cluster.nodes()
                 if "nvidia.com/gpu" in (n.status.allocatable or {})]
    assert len(nodes) >= 2 and set(nodes) == set(gpu_nodes), (nodes, gpu_nodes)
    scenario = tmp_path / "pressure.yaml"
    scenario.write_text(yaml.safe_dump(PRESSURE))
    workdir = tmp_path / "observability"
    port = free_port()
    log = tmp_path / "supervisor.log"
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "local_observability.py"), "--dir", str(workdir),
         "--kubectl", kubectl_path(), "--kubeconfig", str(local_cluster.kubeconfig),
         "--prometheus", prometheus_binaries()["GNP_PROMETHEUS"], "--stack", "local",
         "--alerts-override", json.dumps(SHORT_FOR), "--scenario", f"{nodes[0]}={scenario}",
         "--agent-base-port", str(free_port_range(len(nodes))), "--prometheus-port", str(port),
         "--interval", "1", "--settle-seconds", "0", "--min-write-interval", "0",
         "--scrape-interval", "1s", "--evaluation-interval", "1s"],
        stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True,
    )
    obs = Observability(proc, workdir, f"http://127.0.0.1:{port}", nodes[0], time.monotonic(), log)
    try:
        yield obs
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        # Nothing of ours stays behind: the other node-agent test expects no other writer's labels.
        for node in local_cluster.nodes():
            stale = {k: None for k in (node.metadata.labels or {}) if k.startswith(prefix)}
            if stale:
                local_cluster.core().patch_node(node.metadata.name, {"metadata": {"labels": stale}})


def test_live_agents_and_prometheus_fire_and_resolve_gpu_alerts(
    local_cluster: LocalCluster, observability: Observability
) -> None:
    obs = observability
    state = wait_for(lambda: (obs.workdir / "state.json").exists() and obs.state(), 60,
                     "the supervisor's state file")
    nodes = sorted(state["agents"])
    frozen_node = nodes[1]
    # Every GPU node's agent is scraped, and writes its own node's labels (through the admission policy).
    wait_for(lambda: obs.up_nodes() >= set(nodes) or None, 60, f"every agent scraped\n{obs.logs()}")
    prefix = "node-agent.gpu-node-pools.io/"
    wait_for(lambda: all(any(k.startswith(prefix) for k in (n.metadata.labels or {}))
                         for n in local_cluster.nodes() if n.metadata.name in nodes) or None,
             60, f"labels from every agent\n{obs.logs()}")
    assert time.monotonic() - obs.started < PRESSURE_FROM - 5, "too slow to watch the pressure from its start"

    # One agent freezes (its process stopped): its scrapes time out while the pressure node's GPU fills up.
    frozen_pid = obs.state()["agents"][frozen_node]["pid"]
    os.kill(frozen_pid, signal.SIGSTOP)
    seen: dict[tuple[str, str], list[str]] = {}
    watched = {("GpuMemoryPressure", obs.pressure_node): "pressure", ("GpuNodeAgentDown", frozen_node): "frozen"}
    thawed = False
    deadline = time.monotonic() + PRESSURE_UNTIL + 60
    readout: dict[str, Any] | None = None
    try:
        while time.monotonic() < deadline:
            states = obs.alert_states()
            for key in watched:
                history = seen.setdefault(key, [])
                now = states.get(key, "inactive")
                if not history or history[-1] != now:
                    history.append(now)
            # Let the frozen agent go once its alert fired; read the readout while both fire.
            if seen[("GpuNodeAgentDown", frozen_node)][-1] == "firing" and not thawed:
                if seen[("GpuMemoryPressure", obs.pressure_node)][-1] == "firing":
                    readout = cluster_readout(local_cluster, obs.url)
                if readout is not None or time.monotonic() - obs.started > PRESSURE_UNTIL - 10:
                    os.kill(frozen_pid, signal.SIGCONT)
                    thawed = True
            if thawed and all(h[-1] == "inactive" and "firing" in h for h in seen.values()):
                break
            time.sleep(0.5)
    finally:
        if not thawed:
            os.kill(frozen_pid, signal.SIGCONT)
    for key, history in seen.items():
        assert history[:1] == ["inactive"] and "pending" in history and "firing" in history, (key, history)
        assert history.index("pending") < history.index("firing") and history[-1] == "inactive", (key, history)
    # No other GPU alert fired on the healthy nodes meanwhile.
    assert not {k for k, v in obs.alert_states().items() if v == "firing"}

    # The readout (make up's last step) saw fresh reports, the pools, and both alerts firing.
    assert readout is not None, "no moment with both alerts firing"
    assert {r["node"] for r in readout["nodes"] if not r["stale"]} >= {obs.pressure_node}
    [pool] = [p for p in readout["pools"] if p["pool"] == "gpu"]
    assert pool["gpus"] >= len(nodes) and pool["memory_total_bytes"] > 0
    assert {a["labels"]["alertname"] for a in readout["firing_alerts"]} == {"GpuMemoryPressure", "GpuNodeAgentDown"}

    # One agent crashes: the supervisor restarts it and the others never stop serving.
    crashed = obs.state()["agents"][frozen_node]
    os.kill(crashed["pid"], signal.SIGKILL)
    wait_for(lambda: (a := obs.state()["agents"][frozen_node])["restarts"] == crashed["restarts"] + 1
             and a["running"] or None, 30, f"the killed agent restarted\n{obs.logs()}")
    assert obs.up_nodes() >= set(nodes) - {frozen_node}
    wait_for(lambda: obs.up_nodes() >= set(nodes) or None, 30, f"the restarted agent scraped again\n{obs.logs()}")
    assert all(a["restarts"] == 0 for n, a in obs.state()["agents"].items() if n != frozen_node)


def cluster_readout(cluster: LocalCluster, url: str) -> dict[str, Any]:
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "gpu-node-agent"), "cluster", "--kubeconfig", str(cluster.kubeconfig),
         "--prometheus", url, "--json"],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def test_a_gpu_node_karpenter_launches_gets_an_agent_that_reports_and_loses_it_when_the_node_goes(
    local_cluster: LocalCluster, observability: Observability, namespace: str
) -> None:
    from kubernetes import client

    from gnp_workloads import GPU, pod
    from gpu_node_pools.config.platform import parse_platform_config
    from gpu_node_pools.manifests.karpenter import KWOK_NODE_CLASS_REF, node_pool

    obs = observability
    wait_for(lambda: (obs.workdir / "state.json").exists() and obs.state(), 60, "the supervisor's state file")
    name = f"t-{os.urandom(3).hex()}"
    config = parse_platform_config({
        "cluster": {"mode": "existing", "kubeconfig": "k"},
        "nodePools": [{"name": name, "kind": "gpu", "elastic": {
            "limits": {"gpus": 1}, "instanceFamilies": ["g5"], "disruption": {"consolidateAfter": "5s"}}}],
        "nodeAgent": {"image": "gpu-node-agent:local"},
    }, "test")
    pool = node_pool(config.node_pools[0], config.contract, KWOK_NODE_CLASS_REF)
    local_cluster.apply([pool])
    custom = client.CustomObjectsApi(local_cluster.api())
    core = local_cluster.core()
    tolerations = [{"key": t["key"], "operator": "Exists", "effect": t["effect"]}
                   for t in pool["spec"]["template"]["spec"]["taints"]]
    try:
        core.create_namespaced_pod(namespace, pod("train", requests={GPU: "1", "cpu": "100m", "memory": "64Mi"},
                                                  tolerations=tolerations,
                                                  node_selector={"gpu-node-pools.io/pool": name}))
        node = wait_for(lambda: (p := core.read_namespaced_pod("train", namespace)).status.phase == "Running"
                        and p.spec.node_name, 90, "the GPU pod Running on a node Karpenter launched")
        # The supervisor saw the new node's agent pod and runs an agent for it, as the DaemonSet would.
        wait_for(lambda: obs.state()["agents"].get(node, {}).get("running") or None, 60,
                 f"an agent for {node}\n{obs.logs()}")
        wait_for(lambda: node in obs.up_nodes() or None, 60, f"Prometheus scraping {node}'s agent\n{obs.logs()}")

        def reported() -> dict[str, Any] | None:
            rows = {r["node"]: r for r in cluster_readout(local_cluster, obs.url)["nodes"]}
            row = rows.get(node)
            return row if row and row["product"] and not row["stale"] else None

        row = wait_for(reported, 60, f"{node} in the readout with a product and a fresh report\n{obs.logs()}")
        assert row["product"] == "NVIDIA-A10G" and row["last_report_seconds"] < 60

        core.delete_namespaced_pod("train", namespace, grace_period_seconds=0)
        wait_for(lambda: node not in {n.metadata.name for n in local_cluster.nodes()}, 120, f"{node} given back")
        wait_for(lambda: node not in obs.state()["agents"] or None, 30, f"{node}'s agent stopped\n{obs.logs()}")
        assert all(a["running"] for a in obs.state()["agents"].values())
    finally:
        custom.delete_cluster_custom_object("karpenter.sh", "v1", "nodepools", name)
        wait_for(lambda: not local_cluster.nodes(f"karpenter.sh/nodepool={name}"), 120, f"NodePool {name}'s nodes gone")


def test_a_gpu_pod_gets_pod_labelled_series_and_a_line_in_the_rightsize_report(
    local_cluster: LocalCluster, observability: Observability, namespace: str
) -> None:
    """The supervisor plays the kubelet's device allocation: a GPU pod on a simulated node gets one of its GPUs, the
    node's agent labels that GPU's series with the pod, Prometheus has them, and `rightsize` reports the workload."""
    from gnp_workloads import GPU, gpu_tolerations, pod

    obs = observability
    state = wait_for(lambda: (obs.workdir / "state.json").exists() and obs.state(), 60, "the supervisor's state file")
    node = sorted(state["agents"])[0]
    wait_for(lambda: node in obs.up_nodes() or None, 60, f"{node}'s agent scraped\n{obs.logs()}")
    core = local_cluster.core()
    gpu_nodes = [n for n in local_cluster.nodes() if n.metadata.name == node]
    core.create_namespaced_pod(namespace, pod(
        "inference", requests={GPU: "1", "cpu": "100m", "memory": "64Mi"}, tolerations=gpu_tolerations(gpu_nodes),
        node_selector={"kubernetes.io/hostname": node}))
    wait_for(lambda: core.read_namespaced_pod("inference", namespace).status.phase == "Running" or None, 60,
             "the GPU pod Running")

    def series(**match: str) -> list[dict[str, str]]:
        selector = ", ".join(f'{k}="{v}"' for k, v in match.items())
        return [r["metric"] for r in obs.api("/api/v1/query",
                                             query=f"gpu_node_agent_gpu_utilization_ratio{{{selector}}}")["result"]]

    [held] = wait_for(lambda: series(node=node, pod="inference") or None, 60,
                      f"a pod-labelled series of {node} in Prometheus\n{obs.logs()}")
    assert (held["namespace"], held["container"]) == (namespace, "main")
    # The node's own GPU UUID, which no other node's GPU has.
    assert held["UUID"].startswith("GPU-") and all(
        s["UUID"] != held["UUID"] for s in series() if s["node"] != node)
    assert not [s for s in series(pod="inference") if s["node"] != node]

    time.sleep(3)  # a few scrapes with the pod
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "gpu-node-pools"), "rightsize", "--prometheus", obs.url,
         "--window", "2m", "--step", "2s", "--json"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    [workload] = [w for w in report["workloads"] if w["namespace"] == namespace]
    assert (workload["kind"], workload["name"], workload["pods"]) == ("Pod", "inference", ["inference"])
    assert workload["gpuModel"] == "NVIDIA A10G" and workload["gpusHeld"] == 1
    assert sum(p["gpus"] for p in report["pools"]) == len(obs.state()["agents"])  # one A10G per node, none merged

    # The pod goes: its GPU's series lose the labels (a fresh series without them takes over).
    core.delete_namespaced_pod("inference", namespace, grace_period_seconds=0)
    wait_for(lambda: [s for s in series(node=node) if s.get("UUID") == held["UUID"] and "pod" not in s] or None,
             60, f"{node}'s GPU without pod labels again\n{obs.logs()}")
