"""Restarts the local cluster's host processes when they die, and records their state for `cluster.sh check`.

kwokctl (binary runtime) starts each component (etcd, kube-apiserver, ..., metrics-server) as a detached process,
writes its pid to <cluster dir>/pids/<name>.pid and never looks again. `kwokctl stop` removes the pid file of a
component it stops on purpose, so a pid file whose process is gone (or a zombie nobody reaped) means a crash. The
watchdog removes such stale files and runs `kwokctl start cluster`, which starts exactly the components that are
not running, in kwokctl's dependency order. Restarts back off (2 s doubling to 60 s); a component restarted
CRASH_LOOP_RESTARTS times within CRASH_LOOP_WINDOW is reported as crash-looping, as the kubelet would.

State goes to a JSON file: {"updated": t, "components": {name: {"pid", "running", "restarts", "last_restart",
"crash_looping"}}}. The watchdog exits when the cluster folder disappears (the cluster was deleted) or on SIGTERM.

    python3 scripts/watchdog.py --cluster-dir DIR --kwokctl PATH --name NAME --state-file FILE
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

POLL_SECONDS = 2.0
BACKOFF_FIRST, BACKOFF_MAX = 2.0, 60.0
CRASH_LOOP_RESTARTS, CRASH_LOOP_WINDOW = 3, 300.0
PR_SET_CHILD_SUBREAPER = 36


@dataclass
class Component:
    pid: int = 0
    running: bool = False
    restarts: int = 0
    last_restart: float = 0.0
    recent: list[float] = field(default_factory=list)  # restart times inside CRASH_LOOP_WINDOW

    @property
    def crash_looping(self) -> bool:
        return len(self.recent) >= CRASH_LOOP_RESTARTS


def process_alive(pid: int) -> bool:
    """True when `pid` is a live process (a zombie is dead: it only waits for its parent to reap it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def read_pids(pids_dir: Path) -> dict[str, int]:
    """Component name -> pid, from kwokctl's pid files (a file being written counts as absent)."""
    pids = {}
    for path in sorted(pids_dir.glob("*.pid")):
        try:
            pids[path.stem] = int(path.read_text().strip())
        except (OSError, ValueError):
            continue
    return pids


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] watchdog: {message}", flush=True)


class Watchdog:
    def __init__(self, cluster_dir: Path, kwokctl: str, name: str, state_file: Path) -> None:
        self.cluster_dir, self.kwokctl, self.name, self.state_file = cluster_dir, kwokctl, name, state_file
        self.components: dict[str, Component] = {}
        self.next_restart_at = 0.0
        self.backoff = BACKOFF_FIRST

    def poll(self, now: float) -> None:
        pids = read_pids(self.cluster_dir / "pids")
        dead = []
        for name, pid in pids.items():
            component = self.components.setdefault(name, Component())
            component.pid, component.running = pid, process_alive(pid)
            if not component.running:
                dead.append(name)
        for name in set(self.components) - set(pids):  # stopped on purpose (kwokctl stop)
            self.components[name].running = False
        for component in self.components.values():  # a component that stays up stops counting as crash-looping
            component.recent = [t for t in component.recent if now - t < CRASH_LOOP_WINDOW]
        if dead and now >= self.next_restart_at:
            self.restart(dead, now)
        elif not dead:
            self.backoff = BACKOFF_FIRST
        self.write_state(now)

    def restart(self, dead: list[str], now: float) -> None:
        log(f"{', '.join(dead)} not running; restarting with `kwokctl start cluster`")
        for name in dead:
            (self.cluster_dir / "pids" / f"{name}.pid").unlink(missing_ok=True)
            component = self.components[name]
            component.restarts += 1
            component.last_restart = now
            component.recent = [t for t in component.recent if now - t < CRASH_LOOP_WINDOW] + [now]
            if component.crash_looping:
                log(f"{name} is crash-looping ({len(component.recent)} restarts in {CRASH_LOOP_WINDOW:.0f}s); "
                    f"see {self.cluster_dir / 'logs' / (name + '.log')}")
        self.write_state(now)  # the restart is on record before kwokctl runs (it waits for the API to answer)
        env = {**os.environ, "KWOK_WORKDIR": str(self.cluster_dir.parent.parent)}
        # kwokctl's output goes where ours goes (the watchdog log); no pipe that a started component could hold.
        sys.stdout.flush()
        try:
            code = subprocess.run([self.kwokctl, "--name", self.name, "start", "cluster"], env=env,
                                  stdin=subprocess.DEVNULL, timeout=180).returncode
        except subprocess.TimeoutExpired:
            code = -1
        if code != 0:
            log(f"kwokctl start cluster failed ({code}); the next poll tries again")
        self.next_restart_at = now + self.backoff
        self.backoff = min(self.backoff * 2, BACKOFF_MAX)

    def write_state(self, now: float) -> None:
        state = {"updated": time.time(), "components": {
            name: {**{k: v for k, v in asdict(c).items() if k != "recent"}, "crash_looping": c.crash_looping}
            for name, c in self.components.items()}}
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=1))
        tmp.replace(self.state_file)


def reap_children() -> None:
    """Components restarted by our kwokctl runs become our children (we are their subreaper): reap the dead."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cluster-dir", type=Path, required=True)
    parser.add_argument("--kwokctl", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--state-file", type=Path, required=True)
    args = parser.parse_args(argv)

    # Become the subreaper of what we start, so a component that dies later is reaped, not left a zombie.
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    watchdog = Watchdog(args.cluster_dir, args.kwokctl, args.name, args.state_file)
    log(f"watching {args.cluster_dir / 'pids'}")
    while (args.cluster_dir / "pids").is_dir():
        reap_children()
        watchdog.poll(time.time())
        time.sleep(POLL_SECONDS)
    log("cluster folder gone; exiting")
    return 0


if __name__ == "__main__":
    sys.exit(main())
