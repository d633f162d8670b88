"""Sustained live state: the node's GPU utilization averaged over a sliding window of cycles.

Labels describe what a node is doing over minutes, not in the instant a cycle happens to read: a data-loader
stall, a checkpoint pause, the eval half of a train/eval loop or a burst of inference requests moves the window's
mean a little and the bucket not at all. Each cycle adds one value: the mean of NVML's own utilization samples
since the last read (`nvmlDeviceGetSamples`, several per second on recent GPUs) where the driver has them, else
the instantaneous reading. Memory used is not averaged: it is an allocation level that moves in steps, and the
settle time and hysteresis already hold it (averaging would only smear a step into several bucket writes).
Pure: `after(snapshot, now)` returns the next value.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .snapshot import NodeSnapshot

__all__ = [
    "DEFAULT_WINDOW_SECONDS",
    "SHIFT_POINTS",
    "SUSTAIN_SECONDS",
    "LiveWindow",
    "memory_used_percent",
    "utilization_percent",
]

# Long enough that loops and pauses of a few minutes average out (benchmarks/agent_label_churn.py); idle ->
# training still leaves the idle bucket within about 2 minutes, since a 15-point rise of the mean is enough.
DEFAULT_WINDOW_SECONDS = 600.0
# A level held this long, this far from the window's mean, is a sustained change (see `LiveWindow`).
SUSTAIN_SECONDS = 150.0
SHIFT_POINTS = 15.0


def memory_used_percent(snapshot: NodeSnapshot) -> float | None:
    """Used over total across the readable GPUs of the node."""
    pairs = [
        (g.memory_used_bytes, g.memory_total_bytes)
        for g in snapshot.gpus
        if not g.lost and g.memory_used_bytes is not None and g.memory_total_bytes
    ]
    if not pairs:
        return None
    return 100.0 * sum(u for u, _ in pairs) / sum(t for _, t in pairs)


def utilization_percent(snapshot: NodeSnapshot) -> float | None:
    """Mean GPU utilization across every readable GPU of the node, each GPU's over the last read interval when
    NVML gave samples for it, else its instantaneous reading. None when any readable GPU has no reading: NVML
    has none for a MIG-enabled GPU, and the mean of the others would call a node with busy MIG devices idle."""
    values: list[float] = []
    for g in snapshot.gpus:
        if g.lost:
            continue
        value = g.utilization_sampled_percent
        if value is None and g.utilization_gpu_percent is not None:
            value = float(g.utilization_gpu_percent)
        if value is None:
            return None
        values.append(value)
    return sum(values) / len(values) if values else None


MEASURES = {"utilization": utilization_percent}


@dataclass(frozen=True)
class LiveWindow:
    """Per measure, (time, value) of the cycles within the last `seconds`; a cycle that could not read a measure
    adds nothing, so an unreadable node's window empties and its live labels go.

    A sustained change restarts the window: when every value of the last `sustain_seconds` lies more than
    `shift_points` above (or below) the mean of the window's older values, those older values are dropped, so
    the mean is the new level at once instead of creeping there over the whole window. A pause or a loop phase
    shorter than `sustain_seconds` never does this: only the long mean sees it, and barely.
    """

    seconds: float = DEFAULT_WINDOW_SECONDS
    sustain_seconds: float = SUSTAIN_SECONDS
    shift_points: float = SHIFT_POINTS
    points: tuple[tuple[str, tuple[tuple[float, float], ...]], ...] = ()
    # Measures whose window restarted in the last cycle, with when their new level began: the change has been
    # sustained since then, which the churn policy counts as settle time served.
    began: tuple[tuple[str, float], ...] = ()

    def after(self, snapshot: NodeSnapshot, now: float) -> LiveWindow:
        old = dict(self.points)
        points, began = [], []
        for name, measure in MEASURES.items():
            kept = tuple(p for p in old.get(name, ()) if now - p[0] < self.seconds)
            value = measure(snapshot) if snapshot.error is None else None
            if value is not None:
                kept += ((now, value),)
                if self._shifted(kept, now):
                    kept = tuple(p for p in kept if now - p[0] < self.sustain_seconds)
                    began.append((name, kept[0][0]))
            points.append((name, kept))
        return replace(self, points=tuple(points), began=tuple(began))

    def _shifted(self, points: tuple[tuple[float, float], ...], now: float) -> bool:
        recent = [v for t, v in points if now - t < self.sustain_seconds]
        older = [v for t, v in points if now - t >= self.sustain_seconds]
        # Only once the recent part spans the whole sustain time (older points exist) and has more than one value.
        if not older or len(recent) < 2:
            return False
        before = sum(older) / len(older)
        shift = self.shift_points
        return all(v > before + shift for v in recent) or all(v < before - shift for v in recent)

    @property
    def measures(self) -> frozenset[str]:
        return frozenset(MEASURES)

    def mean(self, name: str) -> float | None:
        values = [v for _, v in dict(self.points).get(name, ())]
        return sum(values) / len(values) if values else None
