"""Node GPU health: `ok` when NVML answered and every GPU read cleanly, else `degraded`."""

from __future__ import annotations

from ..snapshot import NodeSnapshot
from ._context import LabelContext

__all__ = ["health_labels"]


def health_labels(snapshot: NodeSnapshot, ctx: LabelContext) -> dict[str, str]:
    return {f"{ctx.prefix}gpu.health": "ok" if snapshot.healthy else "degraded"}
