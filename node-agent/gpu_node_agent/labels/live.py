"""Live state as coarse buckets: node memory used and mean utilization, with hysteresis against the bucket
last published, so a value hovering at an edge does not flip the label.

Exact values belong in the metrics; labels carry only what a scheduler or a human selects on.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..snapshot import NodeSnapshot
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
    """Mean GPU utilization across the readable GPUs of the node."""
    values = [g.utilization_gpu_percent for g in snapshot.gpus if not g.lost and g.utilization_gpu_percent is not None]
    return sum(values) / len(values) if values else None


def live_labels(snapshot: NodeSnapshot, ctx: LabelContext) -> dict[str, str]:
    labels: dict[str, str] = {}
    for key, measure, buckets in (
        (f"{ctx.prefix}gpu.memory-used", memory_used_percent, MEMORY_USED_BUCKETS),
        (f"{ctx.prefix}gpu.utilization", utilization_percent, UTILIZATION_BUCKETS),
    ):
        value = measure(snapshot)
        if value is not None:
            labels[key] = buckets.with_hysteresis(value, ctx.published.get(key))
    return labels
