"""The local cluster behaves like a real one: a component that dies mid-run is restarted (or reported when it keeps
dying), `check` says what does not serve, and `down` leaves no process and no state, whatever it finds.

These tests run their own cluster (own name and state folder), since they kill its parts.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from gnp_cluster import CLUSTER_SH, announce, kubectl_path, wait_for

pytestmark = pytest.mark.cluster

NAME = "gnp-robust"


@dataclass(frozen=True)
class OwnCluster:
    state: Path
    env: dict[str, str]

    @property
    def dir(self) -> Path:
        return self.state / "kwok" / "clusters" / NAME

    def sh(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([str(CLUSTER_SH), *args], env=self.env, capture_output=True, text=True, timeout=600)
        if check and proc.returncode != 0:
            raise AssertionError(f"cluster.sh {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n"
                                 f"{proc.stderr[-3000:]}")
        return proc

    def kubectl(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([kubectl_path(), "--kubeconfig", str(self.state / "kubeconfig"), *args], input=input,
                              capture_output=True, text=True, timeout=60)

    def pid(self, component: str) -> int:
        return int((self.dir / "pids" / f"{component}.pid").read_text())

    def processes(self) -> list[str]:
        """Command lines of every process that belongs to this cluster."""
        found = subprocess.run(["pgrep", "-af", f"{self.dir}/"], capture_output=True, text=True).stdout
        return [line for line in found.splitlines() if "pgrep" not in line]

    def restarts(self, component: str) -> int:
        state = json.loads((self.dir / "watchdog.json").read_text())
        return state["components"].get(component, {}).get("restarts", 0)


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


@pytest.fixture
def own_cluster(tmp_path: Path, pytestconfig: pytest.Config) -> Iterator[OwnCluster]:
    announce(pytestconfig, f"robustness: starting cluster {NAME} of its own (its parts get killed)")
    cluster = OwnCluster(tmp_path / "state", {**os.environ, "GNP_STATE": str(tmp_path / "state"),
                                              "GNP_CLUSTER_NAME": NAME})
    try:
        cluster.sh("up")
        yield cluster
    finally:
        cluster.sh("down", check=False)


def replaced(cluster: OwnCluster, component: str, old_pid: int) -> bool:
    try:
        pid = cluster.pid(component)
    except (OSError, ValueError):
        return False
    return pid != old_pid and alive(pid)


def test_killed_components_are_restarted_serve_again_and_a_crash_loop_is_reported(own_cluster: OwnCluster) -> None:
    killed = {name: own_cluster.pid(name) for name in ("metrics-server", "kube-scheduler")}
    for pid in killed.values():
        os.kill(pid, signal.SIGKILL)

    for name, pid in killed.items():
        wait_for(lambda: replaced(own_cluster, name, pid), 60, f"{name} restarted by the watchdog")
        wait_for(lambda: own_cluster.restarts(name) >= 1, 10, f"{name}'s restart on the watchdog's record")
    # The scheduler serves again: a new pod is bound to a node.
    pod = ('{"apiVersion":"v1","kind":"Pod","metadata":{"name":"after-restart","namespace":"default"},'
           '"spec":{"containers":[{"name":"c","image":"registry.k8s.io/pause:3.10"}]}}')
    assert own_cluster.kubectl("apply", "-f", "-", input=pod).returncode == 0
    wait_for(lambda: own_cluster.kubectl("get", "pod", "after-restart", "-o", "jsonpath={.spec.nodeName}").stdout,
             60, "the pod scheduled after the scheduler's restart")
    # metrics-server serves again: the aggregated API answers through kube-apiserver. (`kubectl top` itself is
    # proven on the shared cluster in test_isolation.py; here it would only add two scrape intervals.)
    wait_for(lambda: own_cluster.kubectl("get", "--raw", "/apis/metrics.k8s.io/v1beta1/nodes").returncode == 0,
             120, "metrics.k8s.io served by the restarted metrics-server")
    check = own_cluster.sh("check")
    assert "metrics-server" in check.stdout and "restarts" in check.stdout, check.stdout

    # A component that keeps dying is still restarted, and reported as crash-looping (3 restarts in 5 minutes).
    for _ in range(2):
        pid = own_cluster.pid("metrics-server")
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: replaced(own_cluster, "metrics-server", pid), 90, "metrics-server restarted")
    check = own_cluster.sh("check", check=False)
    assert check.returncode != 0
    assert "crash-looping" in check.stdout, check.stdout


def test_down_leaves_no_process_even_when_kwokctl_lost_track_of_one(own_cluster: OwnCluster) -> None:
    assert own_cluster.processes(), "the cluster's processes should be visible before down"
    # kwokctl stops what its pid files name; a component whose file is gone is found by its command line.
    (own_cluster.dir / "pids" / "kube-scheduler.pid").unlink()

    own_cluster.sh("down")

    assert own_cluster.processes() == []
    assert not own_cluster.dir.exists()
    assert not (own_cluster.state / "kubeconfig").exists()


def test_with_the_watchdog_stopped_teardown_still_works_and_check_names_the_dead(own_cluster: OwnCluster) -> None:
    watchdog = int((own_cluster.dir / "watchdog.pid").read_text())
    os.kill(watchdog, signal.SIGTERM)
    wait_for(lambda: not alive(watchdog), 10, "the watchdog stopped")

    # What `make down` does before `pulumi destroy`: with metrics.k8s.io unregistered, a namespace with workloads
    # is deleted although nothing serves that API any more.
    os.kill(own_cluster.pid("metrics-server"), signal.SIGKILL)
    deployment = ('{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"w","namespace":"teardown"},'
                  '"spec":{"replicas":2,"selector":{"matchLabels":{"app":"w"}},"template":{"metadata":'
                  '{"labels":{"app":"w"}},"spec":{"containers":[{"name":"c","image":"registry.k8s.io/pause:3.10"}]}}}}')
    assert own_cluster.kubectl("create", "namespace", "teardown").returncode == 0
    assert own_cluster.kubectl("apply", "-f", "-", input=deployment).returncode == 0
    own_cluster.sh("drop-aggregated-apis")
    assert own_cluster.kubectl("delete", "namespace", "teardown", "--wait=false").returncode == 0
    assert own_cluster.kubectl("get", "apiservice", "v1beta1.metrics.k8s.io").returncode != 0
    wait_for(lambda: own_cluster.kubectl("get", "namespace", "teardown").returncode != 0, 60, "the namespace deleted")

    # Nothing restarts a dead component now: check names it.
    os.kill(own_cluster.pid("kube-controller-manager"), signal.SIGKILL)
    wait_for(lambda: "kube-controller-manager    NOT RUNNING" in own_cluster.sh("check", check=False).stdout, 10,
             "check naming the dead controller-manager")
    check = own_cluster.sh("check", check=False)
    assert check.returncode != 0
    assert "watchdog                   NOT RUNNING" in check.stdout, check.stdout
