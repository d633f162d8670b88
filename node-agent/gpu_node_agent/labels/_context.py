"""What every label source is given besides the snapshot."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from ..snapshot import NodeSnapshot

__all__ = ["LabelContext", "LabelSource"]


@dataclass(frozen=True)
class LabelContext:
    """`prefix` ends in `/`; `published` holds the labels last written, which hysteresis compares against."""

    prefix: str
    published: Mapping[str, str] = field(default_factory=dict)


LabelSource = Callable[[NodeSnapshot, LabelContext], dict[str, str]]
