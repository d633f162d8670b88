"""The daemon loop: read, reason, maybe write, heartbeat; repeat until told to stop.

Collection never waits on the API server for longer than one retry budget; metrics are served from another
thread the whole time, so an API outage shows as write failures, not as a silent agent.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Protocol

from .health import NodeHealth
from .history import ReadHistory
from .labels import LabelContext, LabelSource, desired_labels
from .podresources import PodLookup
from .policy import PublishPolicy, PublishState, decide
from .snapshot import NodeSnapshot
from .state import AgentView
from .window import LiveWindow

__all__ = ["Agent", "ConditionSink", "GpuReader", "HeartbeatSink", "LabelSink", "describe_change"]

log = logging.getLogger(__name__)

# A full label resync (a read of the Node; a write only on drift) at least this often.
RESYNC_SECONDS = 600.0


class GpuReader(Protocol):
    def open(self) -> None: ...
    def read(self) -> NodeSnapshot: ...
    def close(self) -> None: ...


class LabelSink(Protocol):
    def sync(self, desired: Mapping[str, str]) -> bool: ...


class HeartbeatSink(Protocol):
    def beat(self, now: datetime) -> bool: ...


class ConditionSink(Protocol):
    def report(self, health: NodeHealth | None, now: datetime) -> bool: ...


def describe_change(before: Mapping[str, str], after: Mapping[str, str]) -> str:
    """`a=1 -> 2, +b=3, -c` for logs."""
    parts = [f"{k}={before[k]} -> {after[k]}" for k in sorted(after) if k in before and before[k] != after[k]]
    parts += [f"+{k}={after[k]}" for k in sorted(after) if k not in before]
    parts += [f"-{k}" for k in sorted(before) if k not in after]
    return ", ".join(parts) or "no change"


@dataclass
class Agent:
    """`labels=None` is dry-run: changes are logged and taken as written."""

    reader: GpuReader
    sources: Sequence[LabelSource]
    prefix: str
    policy: PublishPolicy
    view: AgentView
    labels: LabelSink | None = None
    heartbeat: HeartbeatSink | None = None
    # `--repair-condition`: the node condition node repair acts on (repair.py).
    condition: ConditionSink | None = None
    clock: Callable[[], float] = time.monotonic
    wall: Callable[[], float] = time.time
    publish: PublishState = PublishState()
    last_sync: float | None = None
    history: ReadHistory = ReadHistory()
    window: LiveWindow = LiveWindow()
    # `--pod-resources`: who holds which GPU, asked every cycle (see docs/node-agent.md, Pod attribution).
    pods: Callable[[], PodLookup] | None = None
    pod_error: str | None = None

    def cycle(self) -> None:
        started = self.clock()
        read = self.reader.read()
        now = self.clock()
        self.history = self.history.after(read)
        snapshot = self.history.complete(read)  # a GPU keeps its uuid/name/bus id through failed reads
        health = self.history.health
        self.view = self.view.after_cycle(snapshot, now - started, self.wall(), health)
        if self.pods is not None:
            lookup = self.pods()
            if lookup.error and lookup.error != self.pod_error:  # once per new kind of failure, not every cycle
                log.warning("pod-resources lookup failed (%s): GPU metrics go out without pod labels", lookup.error)
            self.pod_error = lookup.error
            self.view = self.view.after_pod_lookup(lookup)
        if snapshot.error:
            log.warning("NVML read failed: %s (%d cycles in a row)", snapshot.error, self.history.failed_cycles)
        self.window = self.window.after(snapshot, now)
        ctx = LabelContext(
            self.prefix, self.publish.published, last_good=self.history.last_good, health=health, window=self.window
        )
        desired = desired_labels(snapshot, ctx, self.sources)
        began = {f"{self.prefix}gpu.{name}": since for name, since in self.window.began}
        self.publish, target = decide(self.publish, desired, now, self.policy, began)
        if target is None and self.last_sync is not None and now - self.last_sync >= RESYNC_SECONDS:
            target = dict(self.publish.published)  # repairs drift, e.g. a label someone deleted
        if target is not None:
            self._write(target, now)
        self._report(health)
        self._beat()

    def _write(self, target: dict[str, str], now: float) -> None:
        change = describe_change(self.publish.published, target)
        if self.labels is None:
            log.info("dry-run: labels %s", change)
            self.publish = self.publish.written(target, now, self.policy.live_keys)
            return
        try:
            patched = self.labels.sync(target)
        except Exception as error:  # noqa: BLE001 - any API failure: keep collecting, retry next cycle
            log.error("label write failed, will retry next cycle: %s", error)
            self.view = self.view.after_write(False, self.wall())
            return
        self.last_sync = now
        # A sync that found nothing to change is not a write: it must not delay the next real one.
        self.publish = self.publish.written(target, now if patched else self.publish.last_write, self.policy.live_keys)
        if patched:
            log.info("labels written: %s", "drift repaired" if change == "no change" else change)
            self.view = self.view.after_write(True, self.wall())

    def _report(self, health: NodeHealth | None) -> None:
        if self.condition is None:
            return
        try:
            if self.condition.report(health, datetime.fromtimestamp(self.wall(), tz=timezone.utc)):
                log.info("repair condition written: %s", health.reason if health else "unknown")
        except Exception as error:  # noqa: BLE001 - retried next cycle; collection goes on
            log.error("repair condition write failed, will retry next cycle: %s", error)

    def _beat(self) -> None:
        if self.heartbeat is None:
            return
        try:
            self.heartbeat.beat(datetime.fromtimestamp(self.wall(), tz=timezone.utc))
        except Exception as error:  # noqa: BLE001 - a missed heartbeat must not stop collection
            log.error("heartbeat failed: %s", error)

    def run(self, stop: threading.Event, interval_seconds: float) -> None:
        """Cycles every `interval_seconds` until `stop` is set (SIGTERM)."""
        while not stop.is_set():
            started = self.clock()
            self.cycle()
            stop.wait(max(0.0, interval_seconds - (self.clock() - started)))
