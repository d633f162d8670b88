"""Live state as coarse buckets: node memory used and mean utilization over the agent's window (`window.py`),
with hysteresis against the bucket last published, so a value hovering at an edge does not flip the label.

Exact values belong in the metrics; labels carry only what a scheduler or a human selects on.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..snapshot import NodeSnapshot
from ..window import memory_used_percent, utilization_percent
from ._context import LabelContext

__all__ = [
    "HYSTERESIS_POINTS",
    "MEMORY_USED_BUCKETS",
    "UTILIZATION_BUCKETS",
    "Buckets",
    "live_labels",
    "memory_used_percent",
    "utilization_percent",
]

# A value must pass an edge by this many percentage points to leave the published bucket.
HYSTERESIS_POINTS = 5.0


@dataclass(frozen=True)
class Buckets:
    """Edges in percent, ascending; bucket i covers [edges[i-1], edges[i]). Names read as the range."""

    edges: tuple[float, ...]

    @property
    def names(self) -> tuple[str, ...]:
        bounds = (0, *(int(e) for e in self.edges), 100)
        return tuple(f"{lo}-{hi}" for lo, hi in zip(bounds, bounds[1:]))

    def plain(self, value: float) -> int:
        return sum(1 for edge in self.edges if value >= edge)

    def with_hysteresis(self, value: float, published: str | None, margin: float = HYSTERESIS_POINTS) -> str:
        """The bucket for `value`, staying in `published` unless `value` is `margin` past its edges."""
        names = self.names
        if published not in names:
            return names[self.plain(value)]
        current = names.index(published)
        low = self.edges[current - 1] - margin if current > 0 else float("-inf")
        high = self.edges[current] + margin if current < len(self.edges) else float("inf")
        if low <= value < high:
            return published
        return names[self.plain(value)]


MEMORY_USED_BUCKETS = Buckets(edges=(25, 50, 75))
UTILIZATION_BUCKETS = Buckets(edges=(10, 50, 80))


def live_labels(snapshot: NodeSnapshot, ctx: LabelContext) -> dict[str, str]:
    labels: dict[str, str] = {}
    for name, measure, buckets in (
        ("memory-used", memory_used_percent, MEMORY_USED_BUCKETS),
        ("utilization", utilization_percent, UTILIZATION_BUCKETS),
    ):
        key = f"{ctx.prefix}gpu.{name}"
        # The window's mean where the agent keeps one for this measure; else (memory, a one-shot readout) this read.
        windowed = ctx.window is not None and name in ctx.window.measures
        value = ctx.window.mean(name) if ctx.window is not None and windowed else measure(snapshot)
        if value is not None:
            labels[key] = buckets.with_hysteresis(value, ctx.published.get(key))
    return labels
