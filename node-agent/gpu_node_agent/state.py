"""What the agent has seen and done so far, as one immutable value the loop replaces each cycle.

The metrics collector and `/healthz` read it; only the loop writes it (a single reference swap).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from .health import NodeHealth
from .podresources import PodLookup, PodRef
from .snapshot import NodeSnapshot

__all__ = ["AgentView"]


@dataclass(frozen=True)
class AgentView:
    node: str
    snapshot: NodeSnapshot | None = None
    health: NodeHealth | None = None  # over the last cycles (history.ReadHistory)
    collection_seconds: float | None = None
    last_cycle_time: float | None = None  # wall clock, seconds
    last_success_time: float | None = None  # wall clock of the last cycle that read NVML
    nvml_errors: Mapping[str, int] = field(default_factory=dict)
    label_writes: int = 0
    label_write_failures: int = 0
    last_write_time: float | None = None  # wall clock, seconds
    # `--pod-resources` only: device UUID -> the container it is allocated to, from the last lookup (None: off).
    gpu_pods: Mapping[str, PodRef] | None = None
    pod_resources_ok: bool = False
    pod_resources_errors: Mapping[str, int] = field(default_factory=dict)

    def after_cycle(
        self, snapshot: NodeSnapshot, seconds: float, now: float, health: NodeHealth | None = None
    ) -> AgentView:
        errors = dict(self.nvml_errors)
        for kind in snapshot.error_kinds():
            errors[kind] = errors.get(kind, 0) + 1
        return replace(
            self,
            snapshot=snapshot,
            health=health,
            collection_seconds=seconds,
            last_cycle_time=now,
            last_success_time=now if snapshot.error is None else self.last_success_time,
            nvml_errors=errors,
        )

    def after_pod_lookup(self, lookup: PodLookup) -> AgentView:
        """A failed lookup drops the owners (no pod labels beats stale ones naming a pod that has gone)."""
        errors = dict(self.pod_resources_errors)
        if lookup.error:
            errors[lookup.error] = errors.get(lookup.error, 0) + 1
        return replace(
            self, gpu_pods=dict(lookup.owners), pod_resources_ok=lookup.error is None, pod_resources_errors=errors
        )

    def after_write(self, ok: bool, now: float) -> AgentView:
        if ok:
            return replace(self, label_writes=self.label_writes + 1, last_write_time=now)
        return replace(self, label_write_failures=self.label_write_failures + 1)
