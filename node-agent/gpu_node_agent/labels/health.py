"""Node GPU health: `gpu.health` is `ok` or `degraded`; when degraded, `gpu.health-reason` says why
(`gpu-lost`, `xid-critical`, `no-gpus`, `read-failing`, `driver-not-loaded`, `library-not-found`; see `health.py`).
`gpu.unhealthy-devices` counts the devices a critical XID took out, when any (the node may still be `ok`)."""

from __future__ import annotations

from ..health import assess, read_failed
from ..snapshot import NodeSnapshot
from ._context import LabelContext

__all__ = ["health_labels"]


def health_labels(snapshot: NodeSnapshot, ctx: LabelContext) -> dict[str, str]:
    # Without the agent's history (a one-shot readout), a failed read counts as one failed cycle.
    health = ctx.health if ctx.health is not None else assess(snapshot, int(read_failed(snapshot)))
    labels = {f"{ctx.prefix}gpu.health": health.value}
    if not health.ok:
        labels[f"{ctx.prefix}gpu.health-reason"] = health.reason
    if health.unhealthy_devices:
        labels[f"{ctx.prefix}gpu.unhealthy-devices"] = str(len(health.unhealthy_devices))
    return labels
