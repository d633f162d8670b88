from __future__ import annotations

from snapshot_builders import gpu, node

from gpu_node_agent.snapshot import NodeSnapshot
from gpu_node_agent.window import LiveWindow, utilization_percent


def fed(values: list[float | None], window: LiveWindow | None = None, step: float = 15) -> LiveWindow:
    """A window after one cycle per value, `step` seconds apart (None: NVML unreadable that cycle)."""
    window = window or LiveWindow()
    for n, value in enumerate(values):
        snapshot = NodeSnapshot(error="Unknown") if value is None else node(gpu(0, util=int(value)))
        window = window.after(snapshot, n * step)
    return window


def test_the_mean_covers_only_the_window() -> None:
    window = fed([100] * 4 + [0] * 40, LiveWindow(seconds=600))
    assert window.mean("utilization") == 0  # the 100s are 600 s and more in the past


def test_a_pause_shorter_than_the_sustain_time_only_dents_the_mean() -> None:
    # 10 minutes of training at 90 %, then a 45 s checkpoint pause at 0 %.
    mean = fed([90] * 40 + [0] * 3).mean("utilization")
    assert mean is not None and 80 < mean < 90


def test_a_sustained_change_restarts_the_window_so_the_new_level_shows_at_once() -> None:
    # Training for 10 minutes, then idle for 150 s (the sustain time): the old level is dropped.
    window = fed([90] * 40 + [2] * 11)
    assert window.mean("utilization") == 2


def test_noise_around_the_mean_never_restarts_the_window() -> None:
    values = [50 + (20 if n % 2 else -20) for n in range(80)]
    mean = fed(values).mean("utilization")
    assert mean is not None and 45 <= mean <= 55


def test_an_unreadable_cycle_adds_nothing_and_the_window_empties() -> None:
    window = fed([40, None])
    assert window.mean("utilization") == 40
    assert fed([40] + [None] * 41).mean("utilization") is None


def test_nvml_samples_since_the_last_read_beat_the_instant_reading() -> None:
    snapshot = node(gpu(0, util=0, utilization_sampled_percent=75.0), gpu(1, util=25))
    assert utilization_percent(snapshot) == 50.0  # GPU 0 by its samples, GPU 1 by its reading


def test_node_utilization_is_unknown_while_a_gpu_has_no_reading() -> None:
    from snapshot_builders import gpu, node

    from gpu_node_agent.window import utilization_percent

    # NVML has no utilization for a MIG-enabled GPU: the busy whole GPU alone must not stand for the node.
    assert utilization_percent(node(gpu(0, util=90), gpu(1, util=None, mig_enabled=True))) is None
    assert utilization_percent(node(gpu(0, util=90), gpu(1, util=10))) == 50
