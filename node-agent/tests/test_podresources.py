"""Pod attribution: the agent against a real gRPC server on a unix socket serving the kubelet's pod-resources
proto (tests/fake_kubelet.py), driving the real NVML code through the simulated node files."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import grpc
import pytest
from fake_kubelet import FakeKubelet
from prometheus_client import CollectorRegistry, generate_latest

from gpu_node_agent.config import RunConfig
from gpu_node_agent.daemon import build_agent, make_reader
from gpu_node_agent.metrics import AgentCollector
from gpu_node_agent.podresources import PodRef, PodResourcesClient
from gpu_node_agent.runner import Agent

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def uuid(index: int) -> str:
    return f"GPU-00000000-0000-0000-0000-{index:012d}"


def mig_uuid(gpu: int, instance: int) -> str:
    return f"MIG-00000000-0000-0000-0000-0000{gpu:04d}{instance:04d}"


@pytest.fixture
def sock(tmp_path: Path) -> Path:
    return tmp_path / "kubelet.sock"


def run_cycle(example: str, client: PodResourcesClient | None) -> tuple[Agent, list[str]]:
    """One cycle of the agent as `run` builds it, then the /metrics text, as lines."""
    reader = make_reader(f"simulated:{EXAMPLES / example}", watch_xid=False)
    reader.open()
    agent = build_agent(RunConfig(node_name="n1", dry_run=True), reader)
    if client is not None:
        agent.pods = client.lookup
    agent.cycle()
    reader.close()
    registry = CollectorRegistry()
    registry.register(AgentCollector(lambda: agent.view))
    return agent, generate_latest(registry).decode().splitlines()


def series(lines: list[str], name: str, uuid_label: str) -> list[str]:
    return [line for line in lines if line.startswith(name + "{") and f'UUID="{uuid_label}"' in line]


def test_the_kubelet_answer_maps_gpus_mig_devices_and_replicas_to_containers(sock: Path) -> None:
    pods = [
        ("train-0", "ml", [("trainer", [("nvidia.com/gpu", [uuid(0), uuid(1)])]), ("sidecar", [])]),
        ("infer-0", "serve", [("server", [("nvidia.com/mig-1g.10gb", [mig_uuid(2, 1)])])]),
        # Time-slicing replicas of one GPU: the series belongs to the first container listed, like dcgm-exporter.
        ("share-a", "ml", [("a", [("nvidia.com/gpu", [f"{uuid(3)}::0"])])]),
        ("share-b", "ml", [("b", [("nvidia.com/gpu", [f"{uuid(3)}::1"])])]),
        # Not a GPU: never a GPU's owner even when the ids collide.
        ("nic", "net", [("c", [("example.com/sriov", [uuid(4)])])]),
    ]
    with FakeKubelet(sock, pods):
        client = PodResourcesClient(str(sock))
        lookup = client.lookup()
        client.close()
    assert lookup.error is None
    assert lookup.owners == {
        uuid(0): PodRef("train-0", "ml", "trainer"),
        uuid(1): PodRef("train-0", "ml", "trainer"),
        mig_uuid(2, 1): PodRef("infer-0", "serve", "server"),
        uuid(3): PodRef("share-a", "ml", "a"),
    }


def test_allocated_gpus_get_pod_labels_on_every_series_and_free_gpus_none(sock: Path) -> None:
    with FakeKubelet(sock, [("train-0", "ml", [("trainer", [("nvidia.com/gpu", [uuid(1)])])])]):
        client = PodResourcesClient(str(sock))
        _, lines = run_cycle("8x-h100.yaml", client)
        client.close()
    owned = series(lines, "gpu_node_agent_gpu_memory_used_bytes", uuid(1))
    assert len(owned) == 1 and 'pod="train-0"' in owned[0]
    assert 'namespace="ml"' in owned[0] and 'container="trainer"' in owned[0]
    # Every per-GPU family of that GPU carries them (throttle reasons included), as dcgm-exporter labels all.
    for line in (x for x in lines if 'UUID="' + uuid(1) + '"' in x):
        assert 'pod="train-0"' in line, line
    free = series(lines, "gpu_node_agent_gpu_memory_used_bytes", uuid(0))
    assert len(free) == 1 and "pod=" not in free[0] and "namespace=" not in free[0]
    assert 'gpu_node_agent_pod_resources_up{node="n1"} 1.0' in lines


def test_mig_devices_are_attributed_by_their_mig_uuid(sock: Path) -> None:
    pods = [("infer-0", "serve", [("server", [("nvidia.com/gpu", [mig_uuid(2, 3)])])])]
    with FakeKubelet(sock, pods):
        client = PodResourcesClient(str(sock))
        _, lines = run_cycle("8x-h100-mig.yaml", client)
        client.close()
    used = series(lines, "gpu_node_agent_gpu_memory_used_bytes", uuid(2))
    owned = [line for line in used if 'pod="infer-0"' in line]
    assert len(owned) == 1 and 'GPU_I_ID="3"' in owned[0] and 'container="server"' in owned[0]
    # The other six MIG devices and the whole-GPU series of that GPU are nobody's.
    assert len(used) == 8 and all("pod=" not in line for line in used if line not in owned)


def test_no_socket_keeps_gpu_series_flowing_without_pod_labels_and_says_why(sock: Path) -> None:
    client = PodResourcesClient(str(sock))
    agent, lines = run_cycle("8x-h100.yaml", client)
    assert len([x for x in lines if x.startswith("gpu_node_agent_gpu_memory_used_bytes{")]) == 8
    assert not any("pod=" in line for line in lines)
    assert 'gpu_node_agent_pod_resources_up{node="n1"} 0.0' in lines
    assert 'gpu_node_agent_pod_resources_errors_total{kind="socket-missing",node="n1"} 1.0' in lines
    # The kubelet comes (back): the next cycle attributes without a restart.
    with FakeKubelet(sock, [("p", "ns", [("c", [("nvidia.com/gpu", [uuid(0)])])])]):
        agent.cycle()
    assert agent.view.gpu_pods == {uuid(0): PodRef("p", "ns", "c")}
    assert agent.view.pod_resources_ok and agent.view.pod_resources_errors == {"socket-missing": 1}
    client.close()


def test_a_socket_nobody_answers_on_is_unavailable(sock: Path) -> None:
    with socket.socket(socket.AF_UNIX) as dead:
        dead.bind(str(sock))  # the file exists, but no kubelet listens: connection refused
        client = PodResourcesClient(str(sock), timeout_seconds=1)
        lookup = client.lookup()
        client.close()
    assert (lookup.owners, lookup.error) == ({}, "unavailable")


def test_a_kubelet_slower_than_the_timeout_does_not_stall_the_cycle(sock: Path) -> None:
    with FakeKubelet(sock, [], delay_seconds=1.0):
        client = PodResourcesClient(str(sock), timeout_seconds=0.1)
        lookup = client.lookup()
        client.close()
    assert lookup.error == "deadline-exceeded"


def test_without_the_flag_neither_h2_nor_protobuf_is_imported() -> None:
    """The default agent's memory stays what it was: h2, protobuf and the stubs load only with --pod-resources."""
    code = (
        "import sys; import gpu_node_agent.cli, gpu_node_agent.daemon, gpu_node_agent.metrics;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('grpc', 'google', 'h2', 'hpack')"
        " or 'kubelet_podresources' in m))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_with_the_flag_the_lookup_never_loads_grpc(sock: Path) -> None:
    """grpcio's C core was 15 MiB of RSS: the client speaks gRPC over h2 instead (grpc_unary)."""
    code = (
        "import sys; from gpu_node_agent.podresources import PodResourcesClient;"
        f"lookup = PodResourcesClient({str(sock)!r}).lookup(); print(lookup.error, len(lookup.owners),"
        " sorted(m for m in sys.modules if m.split('.')[0] == 'grpc'))"
    )
    with FakeKubelet(sock, [("p", "ns", [("c", [("nvidia.com/gpu", [uuid(0), uuid(1)])])])]):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "None 2 []"


def test_a_server_error_status_is_named_like_grpcs_codes(sock: Path) -> None:
    with FakeKubelet(sock, [], fail_with=grpc.StatusCode.UNIMPLEMENTED):
        lookup = PodResourcesClient(str(sock)).lookup()
    assert (lookup.owners, lookup.error) == ({}, "unimplemented")


def test_run_with_pod_resources_labels_what_it_serves(sock: Path) -> None:
    """`gpu-node-agent run --pod-resources` as the DaemonSet starts it (by environment), end to end."""
    env = {
        **os.environ,
        "GPU_NODE_AGENT_GPU_SOURCE": f"simulated:{EXAMPLES / '8x-h100.yaml'}",
        "NODE_NAME": "n1",
        "GPU_NODE_AGENT_POD_RESOURCES": "true",
        "GPU_NODE_AGENT_POD_RESOURCES_SOCKET": str(sock),
    }
    argv = ["run", "--dry-run", "--port", "0", "--address", "127.0.0.1", "--interval", "1"]
    with FakeKubelet(sock, [("train-0", "ml", [("trainer", [("nvidia.com/gpu", [uuid(5)])])])]) as kubelet:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gpu_node_agent.cli", *argv], env=env, stderr=subprocess.PIPE, text=True
        )
        try:
            assert proc.stderr is not None
            port = next(int(line.rsplit(":", 1)[1]) for line in proc.stderr if "serving /metrics" in line)
            deadline = time.monotonic() + 10
            while 'pod="train-0"' not in (
                text := urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
            ):
                assert time.monotonic() < deadline, "no pod labels within 10 s"
                time.sleep(0.05)
            assert kubelet.calls >= 1
            assert [x for x in text.splitlines() if 'pod="train-0"' in x and "memory_used_bytes" in x][0].count(
                f'UUID="{uuid(5)}"'
            ) == 1
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=10) == 0
        finally:
            proc.kill()
            proc.wait()
