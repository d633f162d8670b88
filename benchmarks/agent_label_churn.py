"""Label writes per node-hour on a noisy utilization trace: the agent's churn guard against naive writers.

Replays benchmarks/traces/noisy-training.yaml (2 h, one 8-GPU node) through the agent's real loop (simulated
GPU source, label sources, policy) on a virtual clock, reading every 15 s as the DaemonSet does. Compares, in the
same run and on the same reads:
  - naive, every sample: patch the labels at every read;
  - naive, on change: patch whenever the plain bucket of a read differs from the last one written;
  - the agent: hysteresis, settle time, minimum interval, write only on change.
Also: a steady hour (the same node, idle, noisy within its bucket) must cost zero writes once labelled, and each
sustained phase change must show within 60 s.

Run: .venv/bin/python benchmarks/agent_label_churn.py
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from traces.make_noisy_trace import END_SECONDS, PHASES, TRACE  # noqa: E402

from gpu_node_agent.config import DEFAULT_INTERVAL_SECONDS, DEFAULT_PREFIX  # noqa: E402
from gpu_node_agent.labels import LabelContext, desired_labels  # noqa: E402
from gpu_node_agent.policy import PublishPolicy  # noqa: E402
from gpu_node_agent.runner import Agent  # noqa: E402
from gpu_node_agent.simulated import SimulatedReader  # noqa: E402
from gpu_node_agent.sources import label_sources, live_keys  # noqa: E402
from gpu_node_agent.state import AgentView  # noqa: E402

INTERVAL = DEFAULT_INTERVAL_SECONDS
UTIL = f"{DEFAULT_PREFIX}gpu.utilization"
MEMORY = f"{DEFAULT_PREFIX}gpu.memory-used"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class RecordingNode:
    """Stands in for the API server: a patch is counted only when the labels differ."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.labels: dict[str, str] = {}
        self.writes: list[tuple[float, dict[str, str]]] = []

    def sync(self, desired: Mapping[str, str]) -> bool:
        if dict(desired) == self.labels:
            return False
        self.labels = dict(desired)
        self.writes.append((self.clock.now, dict(desired)))
        return True


def replay(start: float, end: float) -> dict[str, object]:
    clock = Clock()
    reader = SimulatedReader(TRACE, clock)  # the trace's time 0 is clock 0
    clock.now = start
    node = RecordingNode(clock)
    agent = Agent(
        reader=reader,
        sources=label_sources(gfd=False),
        prefix=DEFAULT_PREFIX,
        policy=PublishPolicy(live_keys=live_keys(DEFAULT_PREFIX)),
        view=AgentView(node="bench"),
        labels=node,
        clock=clock,
        wall=clock,
    )
    naive_every = naive_change = 0
    naive_last: dict[str, str] | None = None
    while clock.now < end:
        snapshot = reader.read()
        plain = desired_labels(snapshot, LabelContext(DEFAULT_PREFIX), label_sources(gfd=False))
        naive_every += 1
        if plain != naive_last:
            naive_change += 1
            naive_last = plain
        agent.cycle()
        clock.now += INTERVAL
    return {"writes": node.writes, "naive_every": naive_every, "naive_change": naive_change}


def latencies(writes: list[tuple[float, dict[str, str]]]) -> list[tuple[str, int, float | None]]:
    """Seconds from each phase change to the first write where every bucket that the change moves has left its
    old value (evaluation straddles the 50 % edge, so "left 80-100" is the fair test for it)."""
    rows = []
    for (_, _, old_util, old_memory), (name, start, util, memory) in zip(PHASES, PHASES[1:]):
        moved = [(key, old) for key, old, new in ((UTIL, old_util, util), (MEMORY, old_memory, memory)) if old != new]
        shown = [t for t, labels in writes if t >= start and all(labels.get(key) != old for key, old in moved)]
        rows.append((name, start, shown[0] - start if shown else None))
    return rows


def main() -> None:
    hours = END_SECONDS / 3600
    full = replay(0, END_SECONDS)
    writes = full["writes"]
    assert isinstance(writes, list)
    # Steady: start labelled in the final idle phase and run 45 min (the replay loops into the first idle
    # phase); any write after the first is churn.
    steady_start, steady_end = 90 * 60, END_SECONDS + 15 * 60
    steady = replay(steady_start, steady_end)
    steady_writes = [w for w in steady["writes"] if w[0] > steady_start]  # type: ignore[union-attr]

    print(f"trace: {TRACE.name}, {hours:g} h, one read every {INTERVAL:g} s ({int(END_SECONDS / INTERVAL)} reads)")
    print()
    print(f"{'writer':<28}{'writes':>8}{'per node-hour':>16}")
    agent_writes = len(writes) - 1  # the first write labels a new node; count changes
    for name, count in (
        ("naive: every sample", full["naive_every"]),
        ("naive: on bucket change", full["naive_change"]),
        ("agent (after first label)", agent_writes),
    ):
        print(f"{name:<28}{count:>8}{count / hours:>16.1f}")  # type: ignore[operator]
    print()
    minutes = (steady_end - steady_start) // 60
    print(f"steady idle period ({minutes} min, noisy within its bucket, already labelled): {len(steady_writes)} writes")
    print()
    print(f"{'phase change':<14}{'at':>8}{'shown after':>14}")
    for name, start, delay in latencies(writes):
        print(f"{name:<14}{start // 60:>6}min{('never' if delay is None else f'{delay:g} s'):>14}")
    print()
    print("agent writes (time, utilization, memory-used, health):")
    health = f"{DEFAULT_PREFIX}gpu.health"
    for t, labels in writes:
        print(f"  {t / 60:6.2f} min  {labels.get(UTIL)}  {labels.get(MEMORY)}  {labels.get(health)}")


if __name__ == "__main__":
    main()
