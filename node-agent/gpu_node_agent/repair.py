"""Node repair: a node condition saying whether this node's GPUs are fit to run work, for whatever repairs nodes.

On a lost GPU or a critical XID (health.py decides) the agent sets one node condition to its unhealthy status with a
reason; when the node is healthy again it sets the healthy status. Karpenter's repair policies and EKS managed node
groups' node repair act on that condition. The condition's type and which status means "unhealthy" are configured
together (`TYPE=STATUS`): on EKS `AcceleratedHardwareReady=False`, the condition EKS' node monitoring agent writes;
with Karpenter's kwok provider `KWOKUnhealthy=True`, the opposite polarity.

Writes are rare: one status patch when the state changes (and at start, so a stale condition from before a restart is
cleared). While the node is unhealthy each cycle reads the Node and writes again only if the condition went missing
(kwok's heartbeat, or a person, may drop it), keeping its transition time so a repair policy's toleration still counts
from the fault. Only `status.conditions` of this node, only our type: a strategic merge patch keyed by type.

With `--repair-taint` the agent also taints an unhealthy node `<prefix>gpu-unhealthy:NoSchedule` (and removes the
taint when healthy), so no new pod lands on it while it waits for its replacement: a merge patch of `spec.taints`
carrying the `resourceVersion` it read (the list is replaced whole, so a concurrent change answers 409 and is redone
on fresh data), every other taint kept as it was.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal

from .health import GPU_LOST, XID_CRITICAL, NodeHealth
from .kubeclient import KubeClient
from .retry import Backoff, retrying

__all__ = [
    "KUBELET_CONDITIONS",
    "REPAIR_REASONS",
    "ConditionWriter",
    "RepairCondition",
    "condition_entry",
    "parse_repair_condition",
    "repair_reason",
    "repair_taint_key",
    "taints_with",
]

# Health reasons that call for a new node, and the condition reason each is reported with (CamelCase, as EKS' node
# monitoring agent and the kubelet write theirs). Other reasons (read failures, a driver reload) are not hardware
# faults a replacement fixes: they show in labels and alerts only.
REPAIR_REASONS: Mapping[str, str] = {GPU_LOST: "GpuLost", XID_CRITICAL: "CriticalXid"}
_MESSAGES = {
    GPU_LOST: "a GPU fell off the bus or NVML has no handle for it (gpu-node-agent)",
    XID_CRITICAL: "a critical XID error was reported for a GPU (gpu-node-agent)",
}
HEALTHY_REASON = "GpuHealthy"
# The kubelet owns these; a second writer would flap them.
KUBELET_CONDITIONS = frozenset({"Ready", "MemoryPressure", "DiskPressure", "PIDPressure", "NetworkUnavailable"})
_TYPE = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,62}$")


@dataclass(frozen=True)
class RepairCondition:
    """The condition type the agent owns and the status that means "replace this node"."""

    type: str
    unhealthy_status: Literal["True", "False"]

    @property
    def healthy_status(self) -> str:
        return "True" if self.unhealthy_status == "False" else "False"

    def __str__(self) -> str:
        return f"{self.type}={self.unhealthy_status}"


def parse_repair_condition(text: str) -> RepairCondition:
    """`TYPE=STATUS`, STATUS being the unhealthy one (`True` or `False`); raises ValueError saying what is wrong."""
    kind, sep, status = text.partition("=")
    if not sep or status not in ("True", "False"):
        raise ValueError("expected TYPE=True or TYPE=False (the status that means unhealthy)")
    if not _TYPE.match(kind):
        raise ValueError(f"condition type {kind!r} must be letters and digits, starting with a letter, at most 63")
    if kind in KUBELET_CONDITIONS:
        raise ValueError(f"condition type {kind!r} belongs to the kubelet")
    return RepairCondition(kind, "True" if status == "True" else "False")


def repair_reason(health: NodeHealth | None) -> str | None:
    """The health reason when it calls for repair, else None. One device a critical XID took out is enough: the node
    still serves on its other GPUs (its health stays ok, as the device plugin keeps offering them), but it needs
    the reset or replacement only node repair gives, as EKS's node monitoring agent reports it."""
    if health is None:
        return None
    if health.reason in REPAIR_REASONS:
        return health.reason
    return XID_CRITICAL if health.unhealthy_devices else None


def repair_taint_key(prefix: str) -> str:
    """The taint an unhealthy node carries with `--repair-taint`: under the agent's own label prefix."""
    return f"{prefix}gpu-unhealthy"


def taints_with(taints: list[dict[str, Any]], key: str, present: bool) -> list[dict[str, Any]]:
    """`taints` with ours (`key`, NoSchedule) added or removed, every other taint as it was, in order."""
    others = [t for t in taints if t.get("key") != key]
    return [*others, {"key": key, "effect": "NoSchedule"}] if present else others


def _time(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def condition_entry(condition: RepairCondition, reason: str | None, since: datetime, now: datetime) -> dict[str, Any]:
    """The NodeCondition for `reason` (a health reason calling for repair; None: healthy)."""
    return {
        "type": condition.type,
        "status": condition.unhealthy_status if reason else condition.healthy_status,
        "reason": REPAIR_REASONS[reason] if reason else HEALTHY_REASON,
        "message": _MESSAGES[reason] if reason else "every GPU answers and no critical XID was seen (gpu-node-agent)",
        "lastHeartbeatTime": _time(now),
        "lastTransitionTime": _time(since),
    }


class ConditionWriter:
    """Keeps this node's repair condition in line with its GPU health (see the module docstring)."""

    def __init__(
        self,
        client: KubeClient,
        node: str,
        condition: RepairCondition,
        backoff: Backoff = Backoff(),
        taint_key: str | None = None,
    ) -> None:
        self._client = client
        self._node = node
        self._condition = condition
        self._backoff = backoff
        self._taint_key = taint_key
        self._written: str | None | Literal["never"] = "never"  # the reason last written (None: healthy)
        self._since: datetime | None = None

    def report(self, health: NodeHealth | None, now: datetime) -> bool:
        """True when a patch was sent. Raises on API failure; the next cycle tries again."""
        reason = repair_reason(health)
        if reason != self._written:
            self._since = now
        elif reason is None or self._present(reason):
            return False
        assert self._since is not None
        entry = condition_entry(self._condition, reason, self._since, now)
        body = {"status": {"conditions": [entry]}}
        retrying(
            lambda: self._client.patch_node_status(self._node, body),
            f"{self._condition.type} condition of node {self._node}",
            self._backoff,
        )
        if self._taint_key is not None:
            retrying(lambda: self._taint(reason is not None), f"repair taint of node {self._node}", self._backoff)
        self._written = reason
        return True

    def _present(self, reason: str) -> bool:
        """Whether the node still carries our unhealthy condition (and our taint, when we taint)."""
        node = retrying(lambda: self._client.get_node(self._node), f"read of node {self._node}", self._backoff)
        if self._taint_key is not None and not any(
            t.get("key") == self._taint_key for t in (node.get("spec") or {}).get("taints") or []
        ):
            return False
        for current in (node.get("status") or {}).get("conditions") or []:
            if current.get("type") == self._condition.type:
                return bool(
                    current.get("status") == self._condition.unhealthy_status
                    and current.get("reason") == REPAIR_REASONS[reason]
                )
        return False

    def _taint(self, present: bool) -> None:
        assert self._taint_key is not None
        node = self._client.get_node(self._node)
        metadata = node.get("metadata")
        if metadata is None:
            raise RuntimeError(f"the API server returned node {self._node} without metadata")
        current: list[dict[str, Any]] = (node.get("spec") or {}).get("taints") or []
        wanted = taints_with(current, self._taint_key, present)
        if wanted != current:
            body = {"metadata": {"resourceVersion": metadata.get("resourceVersion")}, "spec": {"taints": wanted}}
            self._client.patch_node(self._node, body)
