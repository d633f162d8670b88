"""`--pod-resources-file`: the pod-resources answer from a file (simulated nodes), read each cycle through the same
mapping as the kubelet's socket, driving the real NVML code through the simulated node files."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from gpu_node_agent.config import RunConfig
from gpu_node_agent.daemon import build_agent, make_reader
from gpu_node_agent.metrics import AgentCollector
from gpu_node_agent.podfile import Allocation, PodResourcesFile, answer_json
from gpu_node_agent.podresources import PodRef

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def uuid(index: int) -> str:
    return f"GPU-00000000-0000-0000-0000-{index:012d}"


def mig_uuid(gpu: int, instance: int) -> str:
    return f"MIG-00000000-0000-0000-0000-0000{gpu:04d}{instance:04d}"


def write(path: Path, *allocations: Allocation) -> None:
    path.write_text(json.dumps(answer_json(allocations)))


def test_the_file_is_the_kubelets_list_answer_in_protobufs_json_names(tmp_path: Path) -> None:
    """The same shape `json_format.MessageToDict` gives the kubelet's ListPodResourcesResponse."""
    from google.protobuf import json_format

    from gpu_node_agent.kubelet_podresources import api_pb2

    answer = answer_json([
        Allocation(PodRef("train-0", "ml", "trainer"), "nvidia.com/gpu", (uuid(0), uuid(1))),
        Allocation(PodRef("train-0", "ml", "sidecar"), "nvidia.com/mig-1g.10gb", (mig_uuid(2, 1),)),
        Allocation(PodRef("infer-0", "serve", "server"), "nvidia.com/gpu", (f"{uuid(3)}::2",)),
    ])
    message = json_format.ParseDict(answer, api_pb2.ListPodResourcesResponse())
    assert json_format.MessageToDict(message) == answer
    assert [(p.name, p.namespace, [c.name for c in p.containers]) for p in message.pod_resources] == [
        ("train-0", "ml", ["trainer", "sidecar"]), ("infer-0", "serve", ["server"])]


def test_gpus_mig_devices_and_replicas_map_to_containers_as_from_the_socket(tmp_path: Path) -> None:
    path = tmp_path / "pods.json"
    write(path,
          Allocation(PodRef("train-0", "ml", "trainer"), "nvidia.com/gpu", (uuid(0), uuid(1))),
          Allocation(PodRef("infer-0", "serve", "server"), "nvidia.com/mig-1g.10gb", (mig_uuid(2, 1),)),
          # Time-slicing replicas of one GPU: the first container listed owns the series, as with the socket.
          Allocation(PodRef("share-a", "ml", "a"), "nvidia.com/gpu", (f"{uuid(3)}::0",)),
          Allocation(PodRef("share-b", "ml", "b"), "nvidia.com/gpu", (f"{uuid(3)}::1",)),
          Allocation(PodRef("nic", "net", "c"), "example.com/sriov", (uuid(4),)))
    lookup = PodResourcesFile(path).lookup()
    assert lookup.error is None
    assert lookup.owners == {
        uuid(0): PodRef("train-0", "ml", "trainer"),
        uuid(1): PodRef("train-0", "ml", "trainer"),
        mig_uuid(2, 1): PodRef("infer-0", "serve", "server"),
        uuid(3): PodRef("share-a", "ml", "a"),
    }


@pytest.mark.parametrize(("content", "error"), [
    (None, "file-missing"),
    ("{not json", "bad-file"),
    ('{"podResources": [{"name": "p"}]}', "bad-file"),  # no namespace
    ('["a list"]', "bad-file"),
])
def test_a_missing_or_malformed_file_gives_no_owners_and_says_why(
    tmp_path: Path, content: str | None, error: str
) -> None:
    path = tmp_path / "pods.json"
    if content is not None:
        path.write_text(content)
    lookup = PodResourcesFile(path).lookup()
    assert (lookup.owners, lookup.error) == ({}, error)


def test_each_cycle_reads_the_file_again_so_pods_come_and_go_without_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "pods.json"
    reader = make_reader(f"simulated:{EXAMPLES / '8x-h100.yaml'}", watch_xid=False)
    reader.open()
    agent = build_agent(RunConfig(node_name="n1", dry_run=True), reader)
    agent.pods = PodResourcesFile(path).lookup
    registry = CollectorRegistry()
    registry.register(AgentCollector(lambda: agent.view))

    def used_lines() -> list[str]:
        return [x for x in generate_latest(registry).decode().splitlines()
                if x.startswith("gpu_node_agent_gpu_memory_used_bytes{")]

    try:
        agent.cycle()  # no file yet: series without pod labels, and why
        assert len(used_lines()) == 8 and not any("pod=" in x for x in used_lines())
        assert agent.view.pod_resources_errors == {"file-missing": 1}
        write(path, Allocation(PodRef("train-0", "ml", "trainer"), "nvidia.com/gpu", (uuid(1),)))
        agent.cycle()
        [owned] = [x for x in used_lines() if 'pod="train-0"' in x]
        assert f'UUID="{uuid(1)}"' in owned and 'namespace="ml"' in owned and 'container="trainer"' in owned
        write(path)  # the pod went
        agent.cycle()
        assert not any("pod=" in x for x in used_lines()) and agent.view.pod_resources_ok
    finally:
        reader.close()


def test_run_with_a_pod_resources_file_labels_what_it_serves(tmp_path: Path) -> None:
    """`gpu-node-agent run --pod-resources-file` as the local stack's supervisor starts it, end to end."""
    path = tmp_path / "pods.json"
    write(path, Allocation(PodRef("infer-0", "serve", "server"), "nvidia.com/gpu", (uuid(5),)))
    argv = ["run", "--dry-run", "--port", "0", "--address", "127.0.0.1", "--interval", "1",
            "--gpu-source", f"simulated:{EXAMPLES / '8x-h100.yaml'}", "--node-name", "n1",
            "--pod-resources-file", str(path)]
    proc = subprocess.Popen([sys.executable, "-m", "gpu_node_agent.cli", *argv], stderr=subprocess.PIPE, text=True,
                            env={**os.environ})
    try:
        assert proc.stderr is not None
        port = next(int(line.rsplit(":", 1)[1]) for line in proc.stderr if "serving /metrics" in line)
        deadline = time.monotonic() + 10
        while 'pod="infer-0"' not in (
            text := urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
        ):
            assert time.monotonic() < deadline, "no pod labels within 10 s"
            time.sleep(0.05)
        [line] = [x for x in text.splitlines() if 'pod="infer-0"' in x and "utilization_ratio{" in x
                  and "memory_utilization" not in x]
        assert f'UUID="{uuid(5)}"' in line and 'namespace="serve"' in line
        assert 'gpu_node_agent_pod_resources_up{node="n1"} 1.0' in text
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        proc.kill()
        proc.wait()
