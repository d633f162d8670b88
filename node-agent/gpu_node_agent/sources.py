"""Which label sources run, and which keys are live (settled before written): one table for the agent."""

from __future__ import annotations

from .labels import LabelSource, gfd_labels, health_labels, live_labels, static_labels

__all__ = ["label_sources", "live_keys"]


def label_sources(*, gfd: bool) -> tuple[LabelSource, ...]:
    base: tuple[LabelSource, ...] = (static_labels, live_labels, health_labels)
    return (*base, gfd_labels) if gfd else base


def live_keys(prefix: str) -> frozenset[str]:
    return frozenset({f"{prefix}gpu.memory-used", f"{prefix}gpu.utilization"})
