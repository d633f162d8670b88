"""`replay --trace FILE`: what the agent would write, and when, over a simulated trace, on a virtual clock.

The trace is a simulated GPU file (`simulated.py`); the agent is the daemon's own (`daemon.build_agent`: the real
NVML adapter over the fake pynvml, the label sources, the window, the churn policy), reading every `interval`
virtual seconds. The node is a recorder that counts a write only when the labels change, as the API server would.
So people can tune the window, settle time and cap on their own traces before rolling a change out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import RunConfig
from .daemon import build_agent
from .runner import describe_change
from .simulated import SimulatedReader, load_simulation

__all__ = [
    "DEFAULT_REPLAY_SECONDS",
    "RecordingNode",
    "ReplayResult",
    "VirtualClock",
    "Write",
    "render",
    "replay",
    "result_json",
    "trace_seconds",
]

DEFAULT_REPLAY_SECONDS = 3600.0  # for a trace without samples (it never changes)


class VirtualClock:
    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclass(frozen=True)
class Write:
    seconds: float
    labels: Mapping[str, str]
    change: str


class RecordingNode:
    """A Node's labels: `sync` records a write when they change, and answers like `NodeLabeler.sync`."""

    def __init__(self, clock: VirtualClock) -> None:
        self._clock = clock
        self.labels: dict[str, str] = {}
        self.writes: list[Write] = []

    def sync(self, desired: Mapping[str, str]) -> bool:
        if dict(desired) == self.labels:
            return False
        self.writes.append(Write(self._clock.now, dict(desired), describe_change(self.labels, desired)))
        self.labels = dict(desired)
        return True


@dataclass(frozen=True)
class ReplayResult:
    trace: str
    seconds: float
    interval_seconds: float
    writes: tuple[Write, ...] = field(default=())

    @property
    def changes(self) -> int:
        """Writes after the first (which labels a new node)."""
        return max(len(self.writes) - 1, 0)

    @property
    def per_hour(self) -> float:
        return self.changes / (self.seconds / 3600.0)


def trace_seconds(trace: Path) -> float:
    """One pass over the trace (its samples' span), or `DEFAULT_REPLAY_SECONDS` for a static one."""
    period = load_simulation(trace).period
    return period if period != float("inf") else DEFAULT_REPLAY_SECONDS


def replay(trace: Path, config: RunConfig, seconds: float | None = None, start: float = 0.0) -> ReplayResult:
    """Replays `trace` from `start` for `seconds` (default: one pass), reading every `config.interval_seconds`."""
    clock = VirtualClock()
    reader = SimulatedReader(trace, clock)
    reader.open()  # the trace's time 0 is the clock's 0
    clock.now = start
    node = RecordingNode(clock)
    agent = build_agent(config, reader, labels=node, clock=clock, wall=clock)
    length = trace_seconds(trace) if seconds is None else seconds
    try:
        while clock.now < start + length:
            agent.cycle()
            clock.now += config.interval_seconds
    finally:
        reader.close()
    return ReplayResult(str(trace), length, config.interval_seconds, tuple(node.writes))


def render(result: ReplayResult, prefix: str) -> str:
    lines = [
        f"trace {result.trace}: {result.seconds / 60:g} min, one read every {result.interval_seconds:g} s",
        f"(label keys without {prefix})",
        "",
    ]
    for write in result.writes:
        minutes, seconds = divmod(int(write.seconds), 60)
        lines.append(f"{minutes:4d}:{seconds:02d}  {write.change.replace(prefix, '')}")
    lines += ["", f"{len(result.writes)} writes; {result.changes} after the first: {result.per_hour:.1f} per hour"]
    return "\n".join(lines)


def result_json(result: ReplayResult) -> dict[str, Any]:
    return {
        "trace": result.trace,
        "seconds": result.seconds,
        "intervalSeconds": result.interval_seconds,
        "writesPerHour": round(result.per_hour, 2),
        "writes": [{"seconds": w.seconds, "labels": dict(w.labels), "change": w.change} for w in result.writes],
    }
