"""The kubelet's pod-resources service at the boundary: a real gRPC server on a unix socket, implementing the
servicer generated from the kubelet's own api.proto. Only the answers are scripted (the kubelet cannot run here)."""

from __future__ import annotations

import time
from collections.abc import Iterable
from concurrent import futures
from pathlib import Path

import grpc

from gpu_node_agent.kubelet_podresources import api_pb2, api_pb2_grpc

# (pod, namespace, [(container, [(resource name, [device ids])])])
Allocation = tuple[str, str, list[tuple[str, list[tuple[str, list[str]]]]]]


def response(pods: Iterable[Allocation]) -> api_pb2.ListPodResourcesResponse:
    return api_pb2.ListPodResourcesResponse(
        pod_resources=[
            api_pb2.PodResources(
                name=name,
                namespace=namespace,
                containers=[
                    api_pb2.ContainerResources(
                        name=container,
                        devices=[
                            api_pb2.ContainerDevices(resource_name=resource, device_ids=ids)
                            for resource, ids in devices
                        ],
                    )
                    for container, devices in containers
                ],
            )
            for name, namespace, containers in pods
        ]
    )


class FakeKubelet(api_pb2_grpc.PodResourcesListerServicer):
    def __init__(
        self,
        socket_path: Path,
        pods: Iterable[Allocation] = (),
        delay_seconds: float = 0.0,
        fail_with: grpc.StatusCode | None = None,
    ) -> None:
        self.socket_path = socket_path
        self.fail_with = fail_with
        self.answer = response(pods)
        self.delay_seconds = delay_seconds
        self.calls = 0
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        api_pb2_grpc.add_PodResourcesListerServicer_to_server(self, self._server)
        self._server.add_insecure_port(f"unix://{socket_path}")

    def List(self, request: api_pb2.ListPodResourcesRequest, context: grpc.ServicerContext):  # noqa: N802
        self.calls += 1
        time.sleep(self.delay_seconds)
        if self.fail_with is not None:
            context.abort(self.fail_with, "scripted failure")
        return self.answer

    def __enter__(self) -> FakeKubelet:
        self._server.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.stop(grace=None).wait()
