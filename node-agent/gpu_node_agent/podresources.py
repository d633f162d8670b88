"""Which pod holds which GPU: the kubelet's pod-resources API (gRPC v1 `List`) over its unix socket.

Optional (`--pod-resources`). The call goes through `grpc_unary` (pure-Python h2, no grpcio) with the generated
protobuf messages; both are imported only when a `PodResourcesClient` is made, so the default agent never loads them. A failure never raises into the loop: `lookup()` returns no owners and an
error kind (`socket-missing`, `unavailable`, `deadline-exceeded`, ...) that the metrics count.

Device ids are what the device plugin allocated: a GPU UUID for `nvidia.com/gpu`, a MIG device UUID for
`nvidia.com/mig-<profile>` (mixed strategy) or for `nvidia.com/gpu` under the single strategy. Time-sliced replicas
(`GPU-...::3`) belong to their GPU, as dcgm-exporter maps them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "DEFAULT_SOCKET",
    "GPU_RESOURCE",
    "MIG_RESOURCE_PREFIX",
    "PodLookup",
    "PodRef",
    "PodResourcesClient",
    "device_owners",
]

DEFAULT_SOCKET = "/var/lib/kubelet/pod-resources/kubelet.sock"
GPU_RESOURCE = "nvidia.com/gpu"
MIG_RESOURCE_PREFIX = "nvidia.com/mig-"
# A local RPC answers in milliseconds; a kubelet that does not answer in this long must not stall the cycle.
DEFAULT_TIMEOUT_SECONDS = 2.0
_REPLICA_SEPARATOR = "::"  # the device plugin's time-slicing / MPS replica ids: `<uuid>::<n>`


@dataclass(frozen=True)
class PodRef:
    """The container a device is allocated to: the `pod`, `namespace` and `container` labels."""

    pod: str
    namespace: str
    container: str


@dataclass(frozen=True)
class PodLookup:
    """One cycle's answer: device UUID -> owner, or no owners and why (`error`, a short kind)."""

    owners: Mapping[str, PodRef]
    error: str | None = None


def _is_gpu_resource(name: str) -> bool:
    return name == GPU_RESOURCE or name.startswith(MIG_RESOURCE_PREFIX)


def device_owners(response: Any) -> dict[str, PodRef]:
    """Device UUID -> the container it is allocated to, for NVIDIA GPU and MIG resources only, from a
    `ListPodResourcesResponse` (generated, untyped).

    A device shared by several containers (time-slicing) goes to one of them: one series per GPU, as dcgm-exporter
    writes outside its virtual-GPU mode. It keeps the last listed, we keep the first: the kubelet's order is no
    contract either way."""
    owners: dict[str, PodRef] = {}
    for pod in response.pod_resources:
        for container in pod.containers:
            ref = PodRef(pod.name, pod.namespace, container.name)
            for device in container.devices:
                if not _is_gpu_resource(device.resource_name):
                    continue
                for device_id in _ids(device.device_ids):
                    owners.setdefault(device_id, ref)
    return owners


def _ids(device_ids: Iterable[str]) -> Iterable[str]:
    for device_id in device_ids:
        yield device_id.split(_REPLICA_SEPARATOR, 1)[0]


class PodResourcesClient:
    """The kubelet's pod-resources `List`, one short unary call per lookup (`grpc_unary`)."""

    METHOD = "/v1.PodResourcesLister/List"

    def __init__(self, socket_path: str = DEFAULT_SOCKET, timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS) -> None:
        # Lazily: only agents with --pod-resources pay for h2 and protobuf.
        from . import grpc_unary
        from .kubelet_podresources import api_pb2

        self._call = grpc_unary.unary_call
        self._error = grpc_unary.RpcError
        self._response = api_pb2.ListPodResourcesResponse
        self._request = api_pb2.ListPodResourcesRequest().SerializeToString()
        self._socket_path = socket_path
        self._timeout = timeout_seconds

    def lookup(self) -> PodLookup:
        # dcgm-exporter also checks first: a node without the socket (kubelet down, feature gate off, wrong mount)
        # says so plainly instead of as a connection error.
        if not os.path.exists(self._socket_path):
            return PodLookup({}, "socket-missing")
        try:
            reply = self._call(self._socket_path, self.METHOD, self._request, self._timeout)
        except self._error as error:
            return PodLookup({}, error.kind)
        try:
            response = self._response.FromString(reply)
        except Exception:  # noqa: BLE001 - protobuf's DecodeError: a reply that is no ListPodResourcesResponse
            return PodLookup({}, "bad-reply")
        return PodLookup(device_owners(response))

    def close(self) -> None:
        """Nothing stays open between lookups."""
