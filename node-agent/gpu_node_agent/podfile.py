"""`--pod-resources-file PATH`: which pod holds which GPU, read from a file instead of the kubelet's socket.

For simulated nodes: a kwok node has no kubelet to allocate devices, so the local stack's supervisor
(scripts/local_observability.py) plays that part and writes, per node, the kubelet's pod-resources `List` answer in
protobuf's JSON mapping (`podResources[].containers[].devices[]` with `resourceName` and `deviceIds`). The agent reads
it every cycle through the same `device_owners` as the socket's answer, so time-sliced replicas and MIG devices map
the same way and the series carry the same pod labels as on a real node. Writers replace the file atomically.

A failure never raises into the loop: `lookup()` returns no owners and an error kind (`file-missing`, `bad-file`),
counted like the socket's.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from .podresources import PodLookup, PodRef, device_owners

__all__ = ["Allocation", "PodResourcesFile", "answer_json"]


@dataclass(frozen=True)
class Allocation:
    """Devices of one resource allocated to one container."""

    ref: PodRef
    resource: str
    device_ids: tuple[str, ...]


def answer_json(allocations: Iterable[Allocation]) -> dict[str, Any]:
    """The pod-resources `List` answer, in protobuf's JSON names, for these allocations (pods and containers in
    the order first seen)."""
    pods: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    for a in allocations:
        containers = pods.setdefault((a.ref.namespace, a.ref.pod), {})
        container = containers.setdefault(a.ref.container, {"name": a.ref.container, "devices": []})
        container["devices"].append({"resourceName": a.resource, "deviceIds": list(a.device_ids)})
    return {"podResources": [{"name": pod, "namespace": namespace, "containers": list(containers.values())}
                             for (namespace, pod), containers in pods.items()]}


def _answer(data: Any) -> SimpleNamespace:
    """The JSON answer as the attribute tree `device_owners` reads (the generated message's field names)."""
    if not isinstance(data, Mapping) or not isinstance(data.get("podResources", []), list):
        raise ValueError("expected {podResources: [...]}")
    return SimpleNamespace(pod_resources=[
        SimpleNamespace(name=str(pod["name"]), namespace=str(pod["namespace"]), containers=[
            SimpleNamespace(name=str(container["name"]), devices=[
                SimpleNamespace(resource_name=str(device["resourceName"]),
                                device_ids=[str(i) for i in device.get("deviceIds", [])])
                for device in container.get("devices", [])])
            for container in pod.get("containers", [])])
        for pod in data.get("podResources", [])])


class PodResourcesFile:
    """The pod-resources answer from a JSON file, read on each lookup."""

    def __init__(self, path: str | Path) -> None:
        self._path = Path(path)

    def lookup(self) -> PodLookup:
        try:
            text = self._path.read_text()
        except FileNotFoundError:
            return PodLookup({}, "file-missing")
        except OSError:
            return PodLookup({}, "file-unreadable")
        try:
            return PodLookup(device_owners(_answer(json.loads(text))))
        except (ValueError, KeyError, TypeError, AttributeError):  # JSON or shape: a file that is no answer
            return PodLookup({}, "bad-file")

    def close(self) -> None:
        """Nothing stays open between lookups."""
