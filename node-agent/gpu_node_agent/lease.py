"""The agent's heartbeat: a coordination.k8s.io Lease per node in the agent's namespace.

Kubelets heartbeat this way (KEP-0009) so that liveness never rewrites Node objects; `cluster` reads the Leases
to show when each node's agent last reported, and calls an agent stale once its Lease has expired.

Renewed as kubelet renews its node Lease: at a quarter of the lease duration (kubelet: 40 s lease, renewed every
10 s), but never more often than the agent's cycle, since it renews from the loop. The lease is 120 s (or four
cycles, if longer): one write per node every 30 s at the default 15 s cycle, a third of kubelet's own node-lease
rate, instead of one every cycle (benchmarks/fleet_api_load.py). A dead agent shows as stale within 2 minutes;
Prometheus' `up` and the agent alerts catch it sooner, so the Lease only serves people reading `cluster`.
A failed renewal is retried at the next cycle.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any

from .kubeclient import KubeClient
from .retry import Backoff, retrying

__all__ = [
    "DEFAULT_LEASE_SECONDS",
    "RENEW_FRACTION",
    "Heartbeat",
    "lease_body",
    "lease_duration",
    "lease_name",
]

DEFAULT_LEASE_SECONDS = 120
RENEW_FRACTION = 0.25  # kubelet's: renewInterval = 0.25 * nodeLeaseDurationSeconds
_MIN_CYCLES_PER_LEASE = 4  # so a lease never lapses between two renewals, even when a cycle runs late


def lease_duration(interval_seconds: float) -> int:
    """The Lease's duration for an agent that cycles every `interval_seconds`."""
    return max(DEFAULT_LEASE_SECONDS, math.ceil(_MIN_CYCLES_PER_LEASE * interval_seconds))


def lease_name(node: str) -> str:
    """Named after the node, as kubelet's own Leases in kube-node-lease are; the namespace makes it ours."""
    return node


def lease_body(node: str, namespace: str, now: datetime, duration_seconds: int) -> dict[str, Any]:
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {
            "name": lease_name(node),
            "namespace": namespace,
            "labels": {"app.kubernetes.io/name": "gpu-node-agent"},
        },
        "spec": {
            "holderIdentity": node,
            "leaseDurationSeconds": duration_seconds,
            "renewTime": now.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        },
    }


class Heartbeat:
    """`renew_seconds`: renew once this long has passed since the last renewal (default: a quarter of the lease);
    0 renews at every beat."""

    def __init__(
        self,
        client: KubeClient,
        node: str,
        namespace: str,
        duration_seconds: int,
        backoff: Backoff = Backoff(),
        renew_seconds: float | None = None,
    ) -> None:
        self._client = client
        self._node = node
        self._namespace = namespace
        self._duration = duration_seconds
        self._backoff = backoff
        self._renew = RENEW_FRACTION * duration_seconds if renew_seconds is None else renew_seconds
        self._renewed: datetime | None = None

    def beat(self, now: datetime) -> bool:
        """Server-side apply when a renewal is due (creates the Lease the first time); True when it wrote."""
        if self._renewed is not None and (now - self._renewed).total_seconds() < self._renew:
            return False
        body = lease_body(self._node, self._namespace, now, self._duration)
        retrying(
            lambda: self._client.apply_lease(self._namespace, lease_name(self._node), body),
            f"lease renewal for node {self._node}",
            self._backoff,
        )
        self._renewed = now
        return True
