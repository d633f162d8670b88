"""Proof 8 (docs/local-cluster.md, Tests): the node agent end to end, as a host process for node X with a token
bound to X's agent pod.

The replayed trace goes idle -> busy -> idle; the control plane (API server included) is stopped while it turns
idle again, and the agent must catch up once it is back. This file sorts last so the outage comes after the
other proofs.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from gnp_cluster import AppliedLayer, LocalCluster, cluster_sh, wait_for
from gnp_workloads import agent_daemonset, agent_prefix, running_agent_pod

pytestmark = pytest.mark.cluster

BUSY_AT, IDLE_AT = 8, 50  # seconds into the trace
TRACE = {
    "driverVersion": "550.54.15",
    "cudaDriverVersion": 12040,
    "gpus": [{"name": "NVIDIA A10G", "memoryTotalMiB": 23028, "computeCapability": "8.6", "migCapable": False,
              "utilization": 2, "memoryUsedMiB": 300, "temperature": 30, "powerWatts": 25}],
    "samples": [
        {"t": 0, "utilization": 2, "memoryUsedMiB": 300},
        {"t": BUSY_AT, "utilization": 97, "memoryUsedMiB": 21000},
        {"t": IDLE_AT, "utilization": 2, "memoryUsedMiB": 300},
        {"t": 3600, "utilization": 2, "memoryUsedMiB": 300},  # hold idle (no loop within the test)
    ],
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Agent:
    def __init__(self, cluster: LocalCluster, layer: AppliedLayer, workdir: Path) -> None:
        ds = agent_daemonset(layer)
        pod = running_agent_pod(cluster, ds)
        self.node = pod.spec.node_name
        self.prefix = agent_prefix(ds)
        self.namespace = ds["metadata"]["namespace"]
        self.port = free_port()
        token = workdir / "token"
        token.write_text(cluster.pod_bound_token(pod, ds["spec"]["template"]["spec"]["serviceAccountName"]))
        trace = workdir / "trace.yaml"
        trace.write_text(yaml.safe_dump(TRACE))
        server, ca = cluster.server()
        self.log = workdir / "agent.log"
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "gpu-node-agent"), "run",
             "--gpu-source", f"simulated:{trace}", "--node-name", self.node, "--namespace", self.namespace,
             "--api-server", server, "--token-file", str(token), "--ca-file", ca,
             "--address", "127.0.0.1", "--port", str(self.port),
             "--interval", "1", "--settle-seconds", "0", "--min-write-interval", "0", "--window-seconds", "5"],
            stdout=self.log.open("w"), stderr=subprocess.STDOUT,
        )

    def trace_time(self) -> float:
        return time.monotonic() - self.started

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=2) as resp:
                return resp.status == 200 and b"gpu" in resp.read()
        except OSError:
            return False

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=20)


@pytest.fixture
def agent(local_cluster: LocalCluster, local_layer: AppliedLayer, tmp_path: Path) -> Iterator[Agent]:
    agent = Agent(local_cluster, local_layer, tmp_path)
    yield agent
    agent.stop()
    # The DaemonSet's (simulated) agents write nothing, so every label under the prefix is this test's.
    node = local_cluster.core().read_node(agent.node)
    stale = {k: None for k in node.metadata.labels if k.startswith(agent.prefix)}
    if stale:
        local_cluster.core().patch_node(agent.node, {"metadata": {"labels": stale}})


def agent_labels(cluster: LocalCluster, prefix: str) -> dict[str, dict[str, str]]:
    """Labels under `prefix`, per node that has any."""
    out = {}
    for node in cluster.nodes():
        owned = {k: v for k, v in (node.metadata.labels or {}).items() if k.startswith(prefix)}
        if owned:
            out[node.metadata.name] = owned
    return out


def utilization(cluster: LocalCluster, agent: Agent) -> str | None:
    return agent_labels(cluster, agent.prefix).get(agent.node, {}).get(f"{agent.prefix}gpu.utilization")


def test_agent_labels_its_node_follows_the_trace_and_survives_an_api_outage(
    local_cluster: LocalCluster, agent: Agent
) -> None:
    def log() -> str:
        return agent.log.read_text()[-3000:]

    # Its labels appear on X and nowhere else.
    labels = wait_for(lambda: agent_labels(local_cluster, agent.prefix), 60, f"agent labels\n{log()}")
    assert set(labels) == {agent.node}, labels
    assert labels[agent.node][f"{agent.prefix}gpu.product"] == "NVIDIA-A10G"
    assert labels[agent.node][f"{agent.prefix}gpu.count"] == "1"
    idle = wait_for(lambda: utilization(local_cluster, agent), 30, "the utilization label")

    # The trace turns busy: the live label follows.
    busy = wait_for(lambda: (u := utilization(local_cluster, agent)) != idle and u, BUSY_AT + 30,
                    f"the utilization label to leave {idle!r}\n{log()}")

    # `gpu-node-agent cluster` shows X with the agent's readout and a fresh heartbeat.
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "gpu-node-agent"), "cluster", "--kubeconfig", str(local_cluster.kubeconfig),
         "--namespace", agent.namespace, "--prefix", agent.prefix, "--json"],
        capture_output=True, text=True, check=True,
    )
    rows: list[dict[str, Any]] = json.loads(proc.stdout)
    [row] = [r for r in rows if r["node"] == agent.node]
    assert row["product"] == "NVIDIA-A10G" and row["utilization"] == busy and row["health"] == "ok"
    assert row["last_report_seconds"] is not None and row["last_report_seconds"] < 30 and not row["stale"]

    # The API server goes away while the trace turns idle; the agent keeps serving metrics meanwhile.
    assert agent.trace_time() < IDLE_AT - 5, "the machine is too slow for this trace's timing"
    cluster_sh("stop")
    try:
        wait_for(lambda: agent.trace_time() > IDLE_AT + 5 or None, IDLE_AT + 10, "the trace to turn idle")
        assert agent.healthy(), f"the agent stopped serving metrics during the outage\n{log()}"
        assert agent.proc.poll() is None, f"the agent exited during the outage\n{log()}"
    finally:
        cluster_sh("start")

    # Back up (the scheduler and controller-manager take over their leader leases again within ~30 s): nothing
    # lost, and the idle state written.
    wait_for(lambda: utilization(local_cluster, agent) == idle, 60, f"the utilization label back to {idle!r}\n{log()}")
    after = agent_labels(local_cluster, agent.prefix)
    assert set(after) == {agent.node}
    assert {k: v for k, v in after[agent.node].items() if "utilization" not in k and "memory-used" not in k} == {
        k: v for k, v in labels[agent.node].items() if "utilization" not in k and "memory-used" not in k
    }
