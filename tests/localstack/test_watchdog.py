"""The local cluster's watchdog (scripts/watchdog.py): what counts as dead, when it restarts, when it reports a
crash loop. kwokctl is replaced by a small script that does what `kwokctl start cluster` does for one component
(start it, write its pid file); the real kwokctl is exercised by tests/integration/test_local_stack_robustness.py."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("watchdog", ROOT / "scripts" / "watchdog.py")
assert _spec and _spec.loader
watchdog = importlib.util.module_from_spec(_spec)
sys.modules["watchdog"] = watchdog
_spec.loader.exec_module(watchdog)


@pytest.fixture
def cluster_dir(tmp_path: Path) -> Iterator[Path]:
    cluster = tmp_path / "kwok" / "clusters" / "demo"
    (cluster / "pids").mkdir(parents=True)
    yield cluster
    for pid_file in (cluster / "pids").glob("*.pid"):
        try:
            os.kill(int(pid_file.read_text()), signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass


@pytest.fixture
def fake_kwokctl(tmp_path: Path, cluster_dir: Path) -> Path:
    """Starts every component whose pid file is missing, as `kwokctl start cluster` does; logs each call."""
    script = tmp_path / "kwokctl"
    script.write_text(f"""#!/bin/sh
echo "$@" >> {tmp_path}/calls
for name in etcd metrics-server; do
  [ -f {cluster_dir}/pids/$name.pid ] && continue
  sleep 300 >/dev/null 2>&1 & echo $! > {cluster_dir}/pids/$name.pid
done
""")
    script.chmod(0o755)
    return script


def start(cluster_dir: Path, name: str) -> int:
    proc = subprocess.Popen(["sleep", "300"], start_new_session=True)
    (cluster_dir / "pids" / f"{name}.pid").write_text(str(proc.pid))
    return proc.pid


def kill(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)
    try:
        os.waitpid(pid, 0)  # our child: reap it, as the subreaper watchdog would
    except ChildProcessError:  # the fake kwokctl's: dead once the signal lands (a zombie at most)
        deadline = time.monotonic() + 5
        while watchdog.process_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.01)


def make(cluster_dir: Path, kwokctl: Path) -> watchdog.Watchdog:
    return watchdog.Watchdog(cluster_dir, str(kwokctl), "demo", cluster_dir / "watchdog.json")


def test_running_components_are_left_alone(cluster_dir: Path, fake_kwokctl: Path, tmp_path: Path) -> None:
    start(cluster_dir, "etcd"), start(cluster_dir, "metrics-server")
    dog = make(cluster_dir, fake_kwokctl)

    dog.poll(1000.0)

    assert not (tmp_path / "calls").exists()
    state = json.loads((cluster_dir / "watchdog.json").read_text())["components"]
    assert state["etcd"]["running"] and state["metrics-server"]["running"]
    assert state["etcd"]["restarts"] == 0


def test_a_dead_component_is_restarted_through_kwokctl(cluster_dir: Path, fake_kwokctl: Path,
                                                        tmp_path: Path) -> None:
    start(cluster_dir, "etcd")
    old = start(cluster_dir, "metrics-server")
    dog = make(cluster_dir, fake_kwokctl)
    kill(old)

    dog.poll(1000.0)

    assert (tmp_path / "calls").read_text().split() == ["--name", "demo", "start", "cluster"]
    new = int((cluster_dir / "pids" / "metrics-server.pid").read_text())
    assert new != old and watchdog.process_alive(new)
    assert dog.components["metrics-server"].restarts == 1
    assert not dog.components["metrics-server"].crash_looping


def test_restarts_back_off_and_a_crash_loop_is_reported_then_forgotten(cluster_dir: Path,
                                                                         fake_kwokctl: Path) -> None:
    start(cluster_dir, "etcd"), start(cluster_dir, "metrics-server")
    dog = make(cluster_dir, fake_kwokctl)
    now = 1000.0
    for expected_restarts in (1, 2, 3):
        kill(int((cluster_dir / "pids" / "metrics-server.pid").read_text()))
        dog.poll(now)
        assert dog.components["metrics-server"].restarts == expected_restarts
        now += 100  # past the backoff, inside the crash-loop window
    assert dog.components["metrics-server"].crash_looping

    kill(int((cluster_dir / "pids" / "metrics-server.pid").read_text()))
    dog.poll(dog.next_restart_at - 0.5)  # still backing off: no restart yet
    assert dog.components["metrics-server"].restarts == 3

    dog.poll(now + watchdog.CRASH_LOOP_WINDOW + 1)  # restarted, and the old restarts left the window
    assert dog.components["metrics-server"].restarts == 4
    assert not dog.components["metrics-server"].crash_looping


def test_a_component_stopped_on_purpose_is_not_restarted(cluster_dir: Path, fake_kwokctl: Path,
                                                          tmp_path: Path) -> None:
    start(cluster_dir, "etcd")
    pid = start(cluster_dir, "metrics-server")
    dog = make(cluster_dir, fake_kwokctl)
    dog.poll(1000.0)
    kill(pid)
    (cluster_dir / "pids" / "metrics-server.pid").unlink()  # what `kwokctl stop` does

    dog.poll(1010.0)

    assert not (tmp_path / "calls").exists()
    assert not dog.components["metrics-server"].running


def test_a_zombie_counts_as_dead() -> None:
    proc = subprocess.Popen(["true"])
    while True:  # exited but not reaped: a zombie
        state = Path(f"/proc/{proc.pid}/stat").read_text().rpartition(")")[2].split()[0]
        if state == "Z":
            break
    assert not watchdog.process_alive(proc.pid)
    proc.wait()
    assert not watchdog.process_alive(proc.pid)
