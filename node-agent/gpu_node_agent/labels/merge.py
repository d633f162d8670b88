"""The one point where label sources meet; two sources writing the same key is a bug, so it fails loudly."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ..snapshot import NodeSnapshot
from ._context import LabelContext, LabelSource

__all__ = ["LabelClash", "desired_labels", "merge"]


class LabelClash(ValueError):
    """Two label sources produced the same key."""


def merge(*parts: Mapping[str, str]) -> dict[str, str]:
    merged: dict[str, str] = {}
    for part in parts:
        for key, value in part.items():
            if key in merged:
                raise LabelClash(f"label {key!r} produced twice ({merged[key]!r} and {value!r})")
            merged[key] = value
    return merged


def desired_labels(snapshot: NodeSnapshot, ctx: LabelContext, sources: Iterable[LabelSource]) -> dict[str, str]:
    """Every source applied to one snapshot, merged."""
    return merge(*(source(snapshot, ctx) for source in sources))
