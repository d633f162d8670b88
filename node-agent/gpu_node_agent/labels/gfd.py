"""Opt-in `--gfd-labels`: GFD's own `nvidia.com/gpu.product|count|memory` keys, for clusters without GFD.

These keys are outside our prefix; the agent owns them only in this mode (and the admission policy is built to
allow exactly these three then)."""

from __future__ import annotations

from dataclasses import replace

from ..snapshot import NodeSnapshot
from ._context import LabelContext
from .static import static_labels

__all__ = ["GFD_KEYS", "gfd_labels"]

GFD_KEYS: tuple[str, ...] = ("nvidia.com/gpu.product", "nvidia.com/gpu.count", "nvidia.com/gpu.memory")


def gfd_labels(snapshot: NodeSnapshot, ctx: LabelContext, mig_strategy: str = "none") -> dict[str, str]:
    ours = static_labels(snapshot, replace(ctx, prefix="nvidia.com/"), mig_strategy)
    return {key: ours[key] for key in GFD_KEYS if key in ours}
