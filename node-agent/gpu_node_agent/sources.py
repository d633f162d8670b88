"""Which label sources run, and which keys are live (settled before written): one table for the agent."""

from __future__ import annotations

from functools import partial

from .labels import LabelSource, gfd_labels, health_labels, live_labels, static_labels

__all__ = ["label_sources", "live_keys"]


def label_sources(*, gfd: bool, mig_strategy: str = "none") -> tuple[LabelSource, ...]:
    """`mig_strategy`: the device plugin's `--mig-strategy`, which decides what the GPU keys describe."""
    static = partial(static_labels, mig_strategy=mig_strategy)
    base: tuple[LabelSource, ...] = (static, live_labels, health_labels)
    return (*base, partial(gfd_labels, mig_strategy=mig_strategy)) if gfd else base


def live_keys(prefix: str) -> frozenset[str]:
    return frozenset({f"{prefix}gpu.memory-used", f"{prefix}gpu.utilization"})
