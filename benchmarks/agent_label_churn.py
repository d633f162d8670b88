"""Label writes per node-hour on realistic workload shapes: the agent against naive writers, in one run.

Each trace (benchmarks/traces/, two hours of one 8-GPU node every 5 s, seeded) is replayed through the agent's
real loop on a virtual clock, reading every 15 s as the DaemonSet does (`gpu_node_agent.replay`, the code behind
`gpu-node-agent replay --trace FILE`: the NVML adapter over the fake pynvml, whose `nvmlDeviceGetSamples` gives
the trace's 5 s samples between reads, the window, the label sources, the churn policy). On the same reads:
  - naive, every read: patch the labels at every read;
  - naive, on change: patch whenever the plain bucket of a read differs from the last one written;
  - the agent as shipped (window, hysteresis, settle time, minimum interval, hourly cap);
  - the agent without its cap, to show the window does the work and the cap is only the backstop.
Writes are counted after the first (which labels a new node). Steps: seconds from a sustained change to the first
write where the utilization label has left its old bucket, and to the write of its final bucket.

Run: .venv/bin/python benchmarks/agent_label_churn.py
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from traces.make_noisy_trace import PHASES  # noqa: E402
from traces.make_noisy_trace import TRACE as NOISY  # noqa: E402
from traces.make_shape_traces import SHAPES, STEP_AT, STEP_SHAPE, trace_path  # noqa: E402

from gpu_node_agent.config import DEFAULT_PREFIX, RunConfig  # noqa: E402
from gpu_node_agent.labels import LabelContext, desired_labels  # noqa: E402
from gpu_node_agent.replay import ReplayResult, VirtualClock, replay, trace_seconds  # noqa: E402
from gpu_node_agent.simulated import SimulatedReader  # noqa: E402
from gpu_node_agent.sources import label_sources  # noqa: E402

CONFIG = RunConfig(node_name="bench", dry_run=True)
UTIL = f"{DEFAULT_PREFIX}gpu.utilization"
TARGET_PER_HOUR = 4.0
TARGET_STEP_SECONDS = 180.0


def naive(trace: Path, seconds: float) -> tuple[int, int]:
    """(writes patching every read, writes on a plain bucket change), after the first, on the agent's reads."""
    clock = VirtualClock()
    reader = SimulatedReader(trace, clock)
    reader.open()
    every = change = -1
    last: dict[str, str] | None = None
    while clock.now < seconds:
        labels = desired_labels(reader.read(), LabelContext(DEFAULT_PREFIX), label_sources(gfd=False))
        every += 1
        if labels != last:
            change, last = change + 1, labels
        clock.now += CONFIG.interval_seconds
    return every, change


def step_seconds(result: ReplayResult, at: float, old: str, final: str) -> tuple[float | None, float | None]:
    """Seconds from `at` until utilization left `old`, and until it showed `final`."""
    left = [w.seconds - at for w in result.writes if w.seconds >= at and w.labels.get(UTIL) != old]
    reached = [w.seconds - at for w in result.writes if w.seconds >= at and w.labels.get(UTIL) == final]
    return (left[0] if left else None, reached[0] if reached else None)


def _show(seconds: float | None) -> str:
    return "never" if seconds is None else f"{seconds:g} s"


def main() -> None:
    traces = [(name, trace_path(name)) for name in SHAPES] + [("noisy-training (3 phase changes)", NOISY)]
    print(f"one read every {CONFIG.interval_seconds:g} s; writes per node-hour after the first write")
    print(f"(agent: window {CONFIG.window_seconds:g} s, settle {CONFIG.settle_seconds:g} s, "
          f"min interval {CONFIG.min_write_interval_seconds:g} s, cap {CONFIG.max_writes_per_hour}/h)")
    print()
    header = f"{'trace':<34}{'naive: every read':>18}{'naive: on change':>18}{'agent':>8}{'agent, no cap':>15}"
    header += f"{'target':>9}"
    print(header)
    results: dict[str, ReplayResult] = {}
    for name, trace in traces:
        seconds = trace_seconds(trace)
        every, change = naive(trace, seconds)
        agent = replay(trace, CONFIG, seconds)
        uncapped = replay(trace, replace(CONFIG, max_writes_per_hour=10**6), seconds)
        results[name] = agent
        hours = seconds / 3600
        stationary = name != STEP_SHAPE and not name.startswith("noisy")
        verdict = ("ok" if agent.per_hour <= TARGET_PER_HOUR else "OVER") if stationary else "(step)"
        print(
            f"{name:<34}{every / hours:>18.1f}{change / hours:>18.1f}{agent.per_hour:>8.1f}"
            f"{uncapped.per_hour:>15.1f}{verdict:>9}"
        )
    print()
    print(f"{'sustained change':<34}{'at':>8}{'label left old bucket':>24}{'final bucket shown':>20}")
    steps = [(STEP_SHAPE, "idle -> training", STEP_AT, "0-10", "80-100")]
    steps += [
        ("noisy-training (3 phase changes)", f"{old[0]} -> {new[0]}", new[1], old[2], new[2])
        for old, new in zip(PHASES, PHASES[1:])
    ]
    for trace, label, at, old, final in steps:
        left, reached = step_seconds(results[trace], at, old, final)
        verdict = "ok" if left is not None and left <= TARGET_STEP_SECONDS else "SLOW"
        name = f"{trace.split(' ')[0]}: {label}"
        print(f"{name:<34}{at // 60:>6}min{_show(left) + ' ' + verdict:>24}{_show(reached):>20}")


if __name__ == "__main__":
    main()
