"""The agent's heartbeat: a coordination.k8s.io Lease per node in the agent's namespace, renewed each cycle.

Kubelets heartbeat this way (KEP-0009) so that liveness never rewrites Node objects; `cluster` reads the Leases
to show when each node's agent last reported.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from lightkube import Client
from lightkube.resources.coordination_v1 import Lease
from lightkube.types import PatchType

from .kubeclient import FIELD_MANAGER
from .retry import Backoff, retrying

__all__ = ["Heartbeat", "lease_body", "lease_name"]


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
    def __init__(
        self, client: Client, node: str, namespace: str, duration_seconds: int, backoff: Backoff = Backoff()
    ) -> None:
        self._client = client
        self._node = node
        self._namespace = namespace
        self._duration = duration_seconds
        self._backoff = backoff

    def beat(self, now: datetime) -> None:
        """Server-side apply: creates the Lease the first time, renews it after."""
        body = lease_body(self._node, self._namespace, now, self._duration)
        retrying(
            lambda: self._client.patch(
                Lease,
                lease_name(self._node),
                body,
                namespace=self._namespace,
                patch_type=PatchType.APPLY,
                field_manager=FIELD_MANAGER,
                force=True,
            ),
            f"lease renewal for node {self._node}",
            self._backoff,
        )
