"""The daemon loop: survives NVML and API failures, catches up, writes only on settled change."""

from __future__ import annotations

import socket
from pathlib import Path

import pynvml
import pytest

from snapshot_builders import PREFIX, gpu, node
from fake_apiserver import FakeApiServer

from emulated import emulate, open_reader

from gpu_node_agent.fakenvml import FakeLibNvml
from gpu_node_agent.health import READ_FAILURE_CYCLES
from gpu_node_agent.kubeclient import KubeTarget, make_client
from gpu_node_agent.nvml import NvmlReader
from gpu_node_agent.nodelabels import NodeLabeler, ownership
from gpu_node_agent.policy import PublishPolicy
from gpu_node_agent.retry import Backoff
from gpu_node_agent.runner import Agent, GpuReader, describe_change
from gpu_node_agent.snapshot import NodeSnapshot
from gpu_node_agent.sources import label_sources, live_keys
from gpu_node_agent.state import AgentView
from gpu_node_agent.window import DEFAULT_WINDOW_SECONDS

FAST = Backoff(base_seconds=0.001, cap_seconds=0.01, budget_seconds=0.5, max_attempts=3)


class ScriptedReader:
    def __init__(self, *snapshots: NodeSnapshot) -> None:
        self.snapshots = list(snapshots)

    def open(self) -> None: ...
    def close(self) -> None: ...

    def read(self) -> NodeSnapshot:
        return self.snapshots.pop(0) if len(self.snapshots) > 1 else self.snapshots[0]


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def agent(reader: GpuReader, labels=None, clock: Clock | None = None) -> Agent:
    return Agent(
        reader=reader,
        sources=label_sources(gfd=False),
        prefix=PREFIX,
        policy=PublishPolicy(live_keys=live_keys(PREFIX), settle_seconds=30, min_interval_seconds=30),
        view=AgentView(node="n1"),
        labels=labels,
        clock=clock or Clock(),
        wall=lambda: 1.7e9,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_api_down_keeps_collecting_and_catches_up_when_it_returns(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("token-1")
    port = free_port()
    client = make_client(KubeTarget(api_server=f"http://127.0.0.1:{port}", token_file=str(token)), 1)
    clock = Clock()
    a = agent(
        ScriptedReader(node(gpu(util=90, used_mib=70000))), NodeLabeler(client, "n1", ownership(PREFIX), FAST), clock
    )
    for _ in range(3):
        a.cycle()
        clock.now += 15
    assert a.view.label_write_failures == 3 and a.view.label_writes == 0
    assert a.view.snapshot is not None and a.view.snapshot.healthy  # metrics still fresh
    with FakeApiServer(port=port) as api:
        api.add_node("n1", {"gpu-node-pools.io/pool": "p"})
        a.cycle()
        labels = api.nodes["n1"]["metadata"]["labels"]
    assert a.view.label_writes == 1
    assert labels[f"{PREFIX}gpu.utilization"] == "80-100" and labels["gpu-node-pools.io/pool"] == "p"


class RecordingSink:
    def __init__(self) -> None:
        self.node: dict[str, str] = {}
        self.patches = 0

    def sync(self, desired):
        if dict(desired) == self.node:
            return False
        self.node = dict(desired)
        self.patches += 1
        return True


def test_restart_with_labels_already_in_place_writes_nothing() -> None:
    sink = RecordingSink()
    first = agent(ScriptedReader(node(gpu())), sink)
    first.cycle()
    restarted = agent(ScriptedReader(node(gpu())), sink)
    restarted.cycle()
    assert sink.patches == 1 and restarted.view.label_writes == 0


def test_gpu_lost_mid_run_turns_health_degraded_at_once() -> None:
    sink = RecordingSink()
    clock = Clock()
    a = agent(ScriptedReader(node(gpu(0), gpu(1)), node(gpu(0), gpu(1, lost=True, errors=("GpuIsLost",)))), sink, clock)
    a.cycle()
    clock.now += 30
    a.cycle()
    assert sink.node[f"{PREFIX}gpu.health"] == "degraded" and sink.node[f"{PREFIX}gpu.count"] == "2"
    assert a.view.nvml_errors == {"GpuIsLost": 1}


def test_driver_not_loaded_keeps_the_loop_alive_and_reports_degraded_once_it_persists() -> None:
    sink = RecordingSink()
    clock = Clock()
    a = agent(ScriptedReader(NodeSnapshot(error="DriverNotLoaded")), sink, clock)
    a.cycle()
    assert sink.node == {f"{PREFIX}gpu.health": "ok"} and a.view.nvml_errors == {"DriverNotLoaded": 1}
    for _ in range(READ_FAILURE_CYCLES - 1):
        clock.now += 30
        a.cycle()
    assert sink.node == {f"{PREFIX}gpu.health": "degraded", f"{PREFIX}gpu.health-reason": "driver-not-loaded"}


# --- through the real NVML adapter and nvidia-ml-py, over the emulated libnvidia-ml ---------------------------


def nvml_agent(gfd: bool = False) -> tuple[Agent, FakeLibNvml, RecordingSink, Clock]:
    nvml = emulate(lambda: node(gpu(0), gpu(1)))
    reader = open_reader()
    sink, clock = RecordingSink(), Clock()
    a = agent(reader, sink, clock)
    a.sources = label_sources(gfd=gfd)
    return a, nvml, sink, clock


def cycles(a: Agent, clock: Clock, n: int) -> None:
    for _ in range(n):
        clock.now += 30  # past the minimum write interval
        a.cycle()


STATIC_KEYS = (f"{PREFIX}gpu.product", f"{PREFIX}gpu.count", f"{PREFIX}gpu.memory", f"{PREFIX}cuda.driver-version.full")


@pytest.mark.parametrize(
    "error",
    [pynvml.NVMLError_Unknown, pynvml.NVMLError_DriverNotLoaded, pynvml.NVMLError_LibraryNotFound],
)
@pytest.mark.parametrize("gfd", [False, True])
def test_one_failed_nvml_read_keeps_every_static_label(error: type[Exception], gfd: bool) -> None:
    a, nvml, sink, clock = nvml_agent(gfd)
    cycles(a, clock, 1)
    before = dict(sink.node)
    assert all(key in before for key in STATIC_KEYS) and (not gfd or "nvidia.com/gpu.product" in before)
    nvml.fail[("nvmlDeviceGetCount_v2", None)] = error
    cycles(a, clock, 1)
    assert sink.node == before and sink.patches == 1  # nothing removed, nothing written
    del nvml.fail[("nvmlDeviceGetCount_v2", None)]
    cycles(a, clock, 1)
    assert sink.node == before and sink.patches == 1


def test_a_persistent_failure_changes_only_health_and_says_why() -> None:
    a, nvml, sink, clock = nvml_agent(gfd=True)
    cycles(a, clock, 1)
    before = dict(sink.node)
    nvml.init_error = pynvml.NVMLError_DriverNotLoaded
    nvml.fail[("nvmlDeviceGetCount_v2", None)] = pynvml.NVMLError_DriverNotLoaded
    cycles(a, clock, READ_FAILURE_CYCLES)
    health = {f"{PREFIX}gpu.health": "degraded", f"{PREFIX}gpu.health-reason": "driver-not-loaded"}
    # Static facts stay and health says why; memory used (unknown now) goes after its settle time; utilization
    # still describes the window's earlier readings ...
    memory = f"{PREFIX}gpu.memory-used"
    assert sink.node == {**{k: v for k, v in before.items() if k != memory}, **health}
    assert a.view.health is not None and a.view.health.reason == "driver-not-loaded"
    # ... and goes once the window holds none.
    cycles(a, clock, int(DEFAULT_WINDOW_SECONDS // 30))
    live = live_keys(PREFIX)
    assert sink.node == {**{k: v for k, v in before.items() if k not in live}, **health}
    nvml.init_error = None
    del nvml.fail[("nvmlDeviceGetCount_v2", None)]
    cycles(a, clock, 1)
    assert sink.node == before  # health back to ok, the reason gone, the live buckets back


@pytest.mark.parametrize(
    "error",
    [pynvml.NVMLError_Unknown, pynvml.NVMLError_Timeout, pynvml.NVMLError_NoPermission],
)
def test_a_transient_gpu_read_error_does_not_degrade_but_a_persistent_one_does(error: type[Exception]) -> None:
    a, nvml, sink, clock = nvml_agent()
    nvml.fail[("nvmlDeviceGetTemperature", 1)] = error
    cycles(a, clock, READ_FAILURE_CYCLES - 1)
    assert sink.node[f"{PREFIX}gpu.health"] == "ok" and sink.patches == 1
    cycles(a, clock, 1)
    assert sink.node[f"{PREFIX}gpu.health"] == "degraded"
    assert sink.node[f"{PREFIX}gpu.health-reason"] == "read-failing"


def test_v2_memory_version_mismatch_with_a_working_v1_is_healthy() -> None:
    a, nvml, sink, clock = nvml_agent()
    nvml.fail[("nvmlDeviceGetMemoryInfo_v2", None)] = pynvml.NVMLError_ArgumentVersionMismatch
    cycles(a, clock, READ_FAILURE_CYCLES + 1)
    assert sink.node[f"{PREFIX}gpu.health"] == "ok" and sink.node[f"{PREFIX}gpu.memory"] == "81559"
    assert a.view.nvml_errors == {}


@pytest.mark.parametrize(("function", "index"), [("nvmlDeviceGetPowerUsage", 1), ("nvmlDeviceGetHandleByIndex_v2", 1)])
def test_a_lost_gpu_degrades_at_once(function: str, index: int) -> None:
    a, nvml, sink, clock = nvml_agent()
    cycles(a, clock, 1)
    nvml.fail[(function, index)] = pynvml.NVMLError_GpuIsLost
    cycles(a, clock, 1)
    assert sink.node[f"{PREFIX}gpu.health"] == "degraded" and sink.node[f"{PREFIX}gpu.health-reason"] == "gpu-lost"
    assert sink.node[f"{PREFIX}gpu.count"] == "2" and sink.node[f"{PREFIX}gpu.product"] == "NVIDIA-H100-80GB-HBM3"


def test_a_gpu_keeps_its_identity_when_its_uuid_call_fails() -> None:
    a, nvml, sink, clock = nvml_agent()
    cycles(a, clock, 1)
    nvml.fail[("nvmlDeviceGetUUID", 0)] = pynvml.NVMLError_Unknown
    nvml.fail[("nvmlDeviceGetPciInfo_v3", 0)] = pynvml.NVMLError_Unknown
    cycles(a, clock, 1)
    assert a.view.snapshot is not None
    first = a.view.snapshot.gpus[0]
    assert (first.uuid, first.pci_bus_id, first.errors) == ("GPU-0", "00000000:01:00.0", ("Unknown", "Unknown"))


def test_dry_run_logs_the_change(caplog) -> None:
    caplog.set_level("INFO")
    a = agent(ScriptedReader(node(gpu())))
    a.cycle()
    assert f"dry-run: labels +{PREFIX}cuda.driver-version.full=550.54.15" in caplog.text


def test_describe_change() -> None:
    assert describe_change({"a": "1", "c": "3"}, {"a": "2", "b": "1"}) == "a=1 -> 2, +b=1, -c"


def test_a_deleted_label_is_restored_by_the_periodic_resync(caplog) -> None:
    from gpu_node_agent.runner import RESYNC_SECONDS

    caplog.set_level("INFO")
    sink = RecordingSink()
    clock = Clock()
    a = agent(ScriptedReader(node(gpu())), sink, clock)
    a.cycle()
    del sink.node[f"{PREFIX}gpu.family"]  # someone edits the Node by hand
    clock.now += RESYNC_SECONDS - 1
    a.cycle()
    assert f"{PREFIX}gpu.family" not in sink.node  # nothing changed on our side: no read, no write yet
    clock.now += 1
    a.cycle()
    assert sink.node[f"{PREFIX}gpu.family"] == "hopper" and sink.patches == 2
    assert "labels written: drift repaired" in caplog.text


@pytest.mark.parametrize("threshold", [1, 5])
def test_the_read_failure_threshold_is_a_setting(threshold: int) -> None:
    from gpu_node_agent.config import RunConfig
    from gpu_node_agent.daemon import build_agent

    nvml = emulate(lambda: node(gpu(0)))
    reader = open_reader()
    sink, clock = RecordingSink(), Clock()
    config = RunConfig(node_name="n", read_failure_cycles=threshold)
    a = build_agent(config, reader, labels=sink, clock=clock, wall=clock)
    cycles(a, clock, 1)
    nvml.fail[("nvmlDeviceGetUUID", None)] = pynvml.NVMLError_Unknown
    cycles(a, clock, threshold - 1)
    assert sink.node[f"{PREFIX}gpu.health"] == "ok"
    cycles(a, clock, 1)
    assert sink.node[f"{PREFIX}gpu.health"] == "degraded"
    assert sink.node[f"{PREFIX}gpu.health-reason"] == "read-failing"


def test_a_mig_node_without_privileges_stays_healthy_with_its_memory_labels() -> None:
    from gpu_node_agent.config import RunConfig
    from gpu_node_agent.daemon import build_agent
    from gpu_node_agent.snapshot import MigSnapshot

    devices = tuple(MigSnapshot(g, 0, "1g.10gb", f"MIG-{g}", memory_total_bytes=9856 * 2**20, memory_used_bytes=0)
                    for g in range(1, 8))
    emulate(node(*(gpu(i, mig_enabled=True, util=None, mig_devices=devices) for i in range(2))), privileged=False)
    reader = open_reader()
    sink, clock = RecordingSink(), Clock()
    a = build_agent(RunConfig(node_name="n", mig_strategy="single"), reader, labels=sink, clock=clock, wall=clock)
    cycles(a, clock, READ_FAILURE_CYCLES + 1)
    assert sink.node[f"{PREFIX}gpu.health"] == "ok"
    assert sink.node[f"{PREFIX}gpu.memory"] == "9856" and sink.node[f"{PREFIX}gpu.count"] == "14"
    assert a.view.nvml_errors == {}
