"""What every label source is given besides the snapshot."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from ..health import NodeHealth
from ..snapshot import NodeSnapshot
from ..window import LiveWindow

__all__ = ["LabelContext", "LabelSource"]


@dataclass(frozen=True)
class LabelContext:
    """`prefix` ends in `/`; `published` holds the labels last written, which hysteresis compares against.

    From the agent's history (`history.ReadHistory`): `last_good` is the last clean read, whose static facts
    stand in for those a failed read lacks; `health` is the node's health over the last cycles; `window` holds
    the live measures over the last minutes, which live labels bucket. Without them (a one-shot readout) only the
    snapshot counts.
    """

    prefix: str
    published: Mapping[str, str] = field(default_factory=dict)
    last_good: NodeSnapshot | None = None
    health: NodeHealth | None = None
    window: LiveWindow | None = None


LabelSource = Callable[[NodeSnapshot, LabelContext], dict[str, str]]
