"""The stack file's `priorityClasses` key: the priority ladder for GPU work."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from ._model import ConfigModel

__all__ = [
    "DEFAULT_PRIORITY_LADDER",
    "MAX_USER_PRIORITY",
    "PriorityClassConfig",
    "PriorityLadderConfig",
]

# Kubernetes rejects higher values outside the reserved `system-` classes (scheduling API validation).
MAX_USER_PRIORITY = 1_000_000_000
_MIN_PRIORITY = -(2**31)
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


class PriorityClassConfig(ConfigModel):
    """One rung of the ladder: a PriorityClass."""

    name: str = Field(description="PriorityClass name; no 'system-' prefix")
    value: int = Field(ge=_MIN_PRIORITY, le=MAX_USER_PRIORITY, description="higher runs first; at most 1000000000")
    description: str = Field(default="", description="shown by kubectl describe")
    preemption_policy: Literal["PreemptLowerPriority", "Never"] = Field(
        default="PreemptLowerPriority", description="Never: waits in the queue instead of evicting lower pods"
    )
    global_default: bool = Field(default=False, description="the class of pods that name none; at most one")

    @field_validator("name")
    @classmethod
    def _name(cls, name: str) -> str:
        if len(name) > 253 or not _DNS_SUBDOMAIN.match(name):
            raise ValueError(f"{name!r} is not a DNS subdomain: lowercase letters, digits, '-' and '.'")
        if name.startswith("system-"):
            raise ValueError(f"{name!r}: the 'system-' prefix is reserved for Kubernetes' own priority classes")
        return name


DEFAULT_PRIORITY_LADDER = (
    PriorityClassConfig(
        name="gpu-serving",
        value=1_000_000,
        description="Online GPU inference: preempts GPU training and batch pods.",
    ),
    PriorityClassConfig(
        name="gpu-training",
        value=100_000,
        description="GPU training: preempts GPU batch pods; checkpoint, since serving may preempt it.",
    ),
    PriorityClassConfig(
        name="gpu-batch",
        value=10_000,
        description="Opportunistic GPU batch: never preempts; preempted first.",
        preemption_policy="Never",
    ),
    PriorityClassConfig(
        name="general",
        value=1_000,
        description="General (non-GPU) workloads. Not the global default unless a stack sets globalDefault.",
    ),
)


class PriorityLadderConfig(ConfigModel):
    """The stack file's `priorityClasses` key."""

    enabled: bool = Field(default=True, description="create the priority classes")
    classes: list[PriorityClassConfig] = Field(
        default_factory=lambda: list(DEFAULT_PRIORITY_LADDER),
        description="default: gpu-serving 1000000, gpu-training 100000, gpu-batch 10000 (Never), general 1000",
    )

    @field_validator("classes")
    @classmethod
    def _consistent(cls, classes: list[PriorityClassConfig]) -> list[PriorityClassConfig]:
        names = [c.name for c in classes]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"duplicate priority class names: {', '.join(duplicates)}")
        defaults = [c.name for c in classes if c.global_default]
        if len(defaults) > 1:
            raise ValueError(f"at most one class may be the global default, got {', '.join(defaults)}")
        return classes
