"""Node repair: the configured condition goes unhealthy on a lost GPU or a critical XID, healthy again after, with
either polarity; only that condition of this node is written, and only when it changes or went missing."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from fake_apiserver import FakeApiServer
from snapshot_builders import PREFIX, gpu, node

from gpu_node_agent.health import GPU_LOST, OK, READ_FAILING, XID_CRITICAL, NodeHealth
from gpu_node_agent.history import ReadHistory
from gpu_node_agent.kubeclient import KubeTarget, make_client
from gpu_node_agent.policy import PublishPolicy
from gpu_node_agent.repair import ConditionWriter, RepairCondition, parse_repair_condition
from gpu_node_agent.retry import Backoff
from gpu_node_agent.runner import Agent
from gpu_node_agent.sources import label_sources, live_keys
from gpu_node_agent.state import AgentView

FAST = Backoff(base_seconds=0.001, cap_seconds=0.01, budget_seconds=2.0, max_attempts=5)
EKS = RepairCondition("AcceleratedHardwareReady", "False")
KWOK = RepairCondition("KWOKUnhealthy", "True")
T0 = datetime(2026, 12, 7, 12, 0, tzinfo=timezone.utc)
READY = {"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("AcceleratedHardwareReady=False", EKS),
        ("KWOKUnhealthy=True", KWOK),
    ],
)
def test_the_condition_and_its_polarity_parse(text: str, expected: RepairCondition) -> None:
    assert parse_repair_condition(text) == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("AcceleratedHardwareReady", "TYPE=True or TYPE=False"),
        ("AcceleratedHardwareReady=false", "TYPE=True or TYPE=False"),
        ("Ready=False", "belongs to the kubelet"),
        ("gpu-ok=True", "letters and digits"),
        ("=True", "letters and digits"),
    ],
)
def test_bad_conditions_say_what_is_wrong(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_repair_condition(text)


@pytest.fixture
def api(token_file: Path):
    with FakeApiServer() as server:
        server.add_node("n1", {})
        server.nodes["n1"]["status"] = {"conditions": [dict(READY)]}
        yield server


def writer(api: FakeApiServer, token_file: Path, condition: RepairCondition) -> ConditionWriter:
    client = make_client(KubeTarget(api_server=api.url, token_file=str(token_file)), timeout_seconds=2)
    return ConditionWriter(client, "n1", condition, FAST)


def ours(api: FakeApiServer, condition: RepairCondition) -> dict | None:
    return next((c for c in api.nodes["n1"]["status"]["conditions"] if c["type"] == condition.type), None)


def status_patches(api: FakeApiServer) -> list:
    return [r for r in api.calls("PATCH") if r[1].startswith("/api/v1/nodes/n1/status")]


@pytest.mark.parametrize("condition", [EKS, KWOK], ids=["AcceleratedHardwareReady", "KWOKUnhealthy"])
def test_unhealthy_on_a_critical_xid_and_healthy_again_after(
    api: FakeApiServer, token_file: Path, condition: RepairCondition
) -> None:
    w = writer(api, token_file, condition)
    assert w.report(NodeHealth(OK), T0), "the first cycle clears whatever a previous run left"
    assert ours(api, condition)["status"] == condition.healthy_status
    assert not w.report(NodeHealth(OK), T0 + timedelta(seconds=15)), "no write while nothing changes"

    fault = T0 + timedelta(seconds=30)
    assert w.report(NodeHealth(XID_CRITICAL), fault)
    entry = ours(api, condition)
    assert (entry["status"], entry["reason"]) == (condition.unhealthy_status, "CriticalXid")
    assert entry["lastTransitionTime"] == "2026-12-07T12:00:30Z"
    assert [c for c in api.nodes["n1"]["status"]["conditions"] if c["type"] == "Ready"] == [READY], "Ready untouched"

    assert w.report(NodeHealth(OK), fault + timedelta(seconds=15))
    entry = ours(api, condition)
    assert (entry["status"], entry["reason"]) == (condition.healthy_status, "GpuHealthy")
    # Only the status subresource, only our condition type, a strategic merge patch keyed by type.
    for _, _, body, _ in status_patches(api):
        assert list(body) == ["status"] and list(body["status"]) == ["conditions"]
        assert [c["type"] for c in body["status"]["conditions"]] == [condition.type]
    assert not [r for r in api.calls("PATCH") if r[1].split("?")[0] == "/api/v1/nodes/n1"]


def test_one_device_out_of_several_taken_by_a_critical_xid_calls_for_repair(
    api: FakeApiServer, token_file: Path
) -> None:
    w = writer(api, token_file, EKS)
    w.report(NodeHealth(OK), T0)
    # Seven of eight GPUs still serve (the node's health stays ok), but the broken one needs a new node.
    assert w.report(NodeHealth(OK, unhealthy_devices=("GPU-3",)), T0 + timedelta(seconds=15))
    assert (ours(api, EKS)["status"], ours(api, EKS)["reason"]) == ("False", "CriticalXid")


def test_a_lost_gpu_is_reported_and_read_failures_are_not(api: FakeApiServer, token_file: Path) -> None:
    w = writer(api, token_file, EKS)
    w.report(NodeHealth(READ_FAILING), T0)
    assert ours(api, EKS)["status"] == "True", "a driver being reloaded is no reason to replace the node"
    w.report(NodeHealth(GPU_LOST), T0 + timedelta(seconds=15))
    assert (ours(api, EKS)["status"], ours(api, EKS)["reason"]) == ("False", "GpuLost")


def test_a_dropped_unhealthy_condition_comes_back_with_its_first_transition_time(
    api: FakeApiServer, token_file: Path
) -> None:
    w = writer(api, token_file, KWOK)
    w.report(NodeHealth(XID_CRITICAL), T0)
    assert not w.report(NodeHealth(XID_CRITICAL), T0 + timedelta(seconds=15)), "still there: read, no write"
    # kwok's node heartbeat rebuilds status.conditions from its own set, dropping ours.
    api.nodes["n1"]["status"]["conditions"] = [dict(READY)]
    assert w.report(NodeHealth(XID_CRITICAL), T0 + timedelta(seconds=30))
    entry = ours(api, KWOK)
    assert entry["status"] == "True" and entry["lastTransitionTime"] == "2026-12-07T12:00:00Z"
    assert len(status_patches(api)) == 2


def test_healthy_nodes_cost_no_requests_after_the_first_cycle(api: FakeApiServer, token_file: Path) -> None:
    w = writer(api, token_file, EKS)
    for n in range(20):
        w.report(NodeHealth(OK), T0 + timedelta(seconds=15 * n))
    assert len(api.requests) == 1


def test_the_agent_loop_reports_a_lost_gpu_through_its_condition_sink() -> None:
    class Reader:
        def __init__(self) -> None:
            self.lost = False

        def open(self) -> None: ...
        def close(self) -> None: ...

        def read(self):
            return node(gpu(0), gpu(1, lost=self.lost))

    class Sink:
        def __init__(self) -> None:
            self.seen: list[str | None] = []

        def report(self, health: NodeHealth | None, now: datetime) -> bool:
            self.seen.append(health.reason if health else None)
            return True

    reader, sink = Reader(), Sink()
    loop = Agent(
        reader=reader,
        sources=label_sources(gfd=False),
        prefix=PREFIX,
        policy=PublishPolicy(live_keys=live_keys(PREFIX)),
        view=AgentView(node="n1"),
        condition=sink,
        history=ReadHistory(),
        wall=lambda: 1.7e9,
    )
    loop.cycle()
    reader.lost = True
    loop.cycle()
    assert sink.seen == [OK, GPU_LOST]


TAINT = "node-agent.gpu-node-pools.io/gpu-unhealthy"
GPU_TAINT = {"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}


def test_with_the_taint_an_unhealthy_node_takes_no_new_pods_until_healthy(
    api: FakeApiServer, token_file: Path
) -> None:
    client = make_client(KubeTarget(api_server=api.url, token_file=str(token_file)), timeout_seconds=2)
    w = ConditionWriter(client, "n1", EKS, FAST, taint_key=TAINT)
    w.report(NodeHealth(OK), T0)
    assert api.nodes["n1"]["spec"]["taints"] == [GPU_TAINT]
    w.report(NodeHealth(XID_CRITICAL), T0 + timedelta(seconds=15))
    assert api.nodes["n1"]["spec"]["taints"] == [GPU_TAINT, {"key": TAINT, "effect": "NoSchedule"}]
    # Someone removes it by hand while the GPU is still broken: it comes back.
    api.nodes["n1"]["spec"]["taints"] = [GPU_TAINT]
    assert w.report(NodeHealth(XID_CRITICAL), T0 + timedelta(seconds=30))
    assert api.nodes["n1"]["spec"]["taints"][-1] == {"key": TAINT, "effect": "NoSchedule"}
    w.report(NodeHealth(OK), T0 + timedelta(seconds=45))
    assert api.nodes["n1"]["spec"]["taints"] == [GPU_TAINT], "healthy: our taint goes, the GPU taint stays"
    # Every taint patch carried the resourceVersion it read (a concurrent change answers 409 and is redone).
    taint_patches = [r for r in api.calls("PATCH") if r[1].split("?")[0] == "/api/v1/nodes/n1"]
    assert taint_patches and all("resourceVersion" in body["metadata"] for _, _, body, _ in taint_patches)
