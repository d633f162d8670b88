"""A priority ladder for GPU work: serving preempts training, training preempts batch, batch preempts nobody.

User classes stay at or below 1000000000 and off the `system-` prefix (both reserved for Kubernetes' own
`system-node-critical` and `system-cluster-critical`, which our device plugin and metrics-server use).
`globalDefault` changes the priority of every pod created without a class, so it is only ever set on purpose.
"""

from __future__ import annotations

from typing import Any

from ..config.priority_classes import PriorityClassConfig, PriorityLadderConfig
from ..contract import IsolationContract

__all__ = [
    "build_priority_classes",
]


def build_priority_classes(config: PriorityLadderConfig, contract: IsolationContract) -> list[dict[str, Any]]:
    """One PriorityClass per rung; nothing when disabled. (`contract` keeps every builder's signature alike.)"""
    if not config.enabled:
        return []
    return [_priority_class(c) for c in config.classes]


def _priority_class(config: PriorityClassConfig) -> dict[str, Any]:
    priority_class: dict[str, Any] = {
        "apiVersion": "scheduling.k8s.io/v1",
        "kind": "PriorityClass",
        "metadata": {"name": config.name, "labels": {"app.kubernetes.io/part-of": "gpu-node-pools"}},
        "value": config.value,
        "globalDefault": config.global_default,
        "preemptionPolicy": config.preemption_policy,
    }
    if config.description:
        priority_class["description"] = config.description
    return priority_class
