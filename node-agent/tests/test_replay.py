"""`replay`: the daemon's own loop over a trace on a virtual clock; and the churn targets on trace shapes."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path

import pytest

from gpu_node_agent.cli import main
from gpu_node_agent.config import RunConfig
from gpu_node_agent.replay import replay

P = "node-agent.gpu-node-pools.io/"
UTIL = f"{P}gpu.utilization"
CONFIG = RunConfig(node_name="replay", dry_run=True)


def write_trace(path: Path, seconds: int, utilization: Callable[[random.Random, int], float]) -> Path:
    rng = random.Random(7)
    lines = [
        "gpus:",
        '  - {count: 2, name: NVIDIA H100 80GB HBM3, memoryTotalMiB: 81559, computeCapability: "9.0"}',
        "samples:",
    ]
    for t in range(0, seconds, 5):
        value = max(0, min(100, round(utilization(rng, t))))
        lines.append(f"  - {{t: {t}, utilization: {value}, memoryUsedMiB: 70000}}")
    path.write_text("\n".join(lines) + "\n")
    return path


SHAPES: dict[str, Callable[[random.Random, int], float]] = {
    "train 60 s / eval 40 s": lambda rng, t: rng.gauss(90, 4) if t % 100 < 60 else rng.gauss(40, 10),
    "train 5 min / eval 2 min": lambda rng, t: rng.gauss(90, 4) if t % 420 < 300 else rng.gauss(40, 10),
    "45 s checkpoint pause every 10 min": lambda rng, t: rng.uniform(0, 4) if t % 600 >= 555 else rng.gauss(90, 4),
    "uniform noise on the 50 % edge": lambda rng, t: rng.uniform(20, 80),
}


@pytest.mark.parametrize("shape", SHAPES)
def test_a_stationary_workload_costs_at_most_4_writes_per_node_hour(tmp_path: Path, shape: str) -> None:
    trace = write_trace(tmp_path / "trace.yaml", 7200, SHAPES[shape])
    result = replay(trace, CONFIG)
    assert result.per_hour <= 4, [(w.seconds, w.change) for w in result.writes]


@pytest.mark.parametrize(("before", "after", "old"), [(2, 90, "0-10"), (90, 2, "80-100"), (45, 2, "10-50")])
def test_a_sustained_change_shows_within_3_minutes(tmp_path: Path, before: float, after: float, old: str) -> None:
    def level(rng: random.Random, t: int) -> float:
        return (before if t < 1800 else after) + rng.uniform(-2, 2)

    trace = write_trace(tmp_path / "step.yaml", 3600, level)
    result = replay(trace, CONFIG)
    shown = [w.seconds - 1800 for w in result.writes if w.seconds >= 1800 and w.labels.get(UTIL) != old]
    assert shown and shown[0] <= 180


def test_replay_command_prints_each_write_and_the_rate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trace = write_trace(tmp_path / "step.yaml", 3600, lambda rng, t: 2 if t < 1800 else 90)
    assert main(["replay", "--trace", str(trace)], env={}) == 0
    out = capsys.readouterr().out
    # One write for the step, straight to the new bucket, once the level held for the sustain time (10 reads).
    assert "  32:15  gpu.utilization=0-10 -> 80-100" in out
    assert out.rstrip().endswith("2 writes; 1 after the first: 1.0 per hour")


def test_replay_takes_the_daemon_s_tuning_flags(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trace = write_trace(tmp_path / "step.yaml", 3600, lambda rng, t: 2 if t < 1800 else 90)
    assert main(["replay", "--trace", str(trace), "--json", "--settle-seconds", "300", "--duration", "2400"], {}) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["seconds"] == 2400
    # The settle time runs from the step at 1800 s, when the window saw the new level begin.
    assert [w["seconds"] for w in result["writes"]] == [0, 2100]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--trace", "/nonexistent.yaml"], "error: /nonexistent.yaml: cannot read"),
        (["--trace", "t.yaml", "--duration", "soon"], "error: --duration='soon': not a number of seconds"),
        (["--trace", "t.yaml", "--max-writes-per-hour", "0"], "error: --max-writes-per-hour='0': must be at least 1"),
    ],
)
def test_replay_bad_input_exits_2_naming_it(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", *argv], env={}) == 2
    assert capsys.readouterr().err.startswith(message)
