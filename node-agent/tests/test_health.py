"""Node health over cycles: a lost GPU at once, any other read failure only once it persists."""

from __future__ import annotations

import pytest
from snapshot_builders import gpu, node

from gpu_node_agent.health import READ_FAILURE_CYCLES, NodeHealth, assess, read_failed
from gpu_node_agent.labels import label_value
from gpu_node_agent.snapshot import NodeSnapshot

LOST = node(gpu(0), gpu(1, lost=True, errors=("GpuIsLost",)))
UNKNOWN = node(gpu(0, errors=("Unknown",)))


@pytest.mark.parametrize(
    ("snapshot", "failed_cycles", "reason"),
    [
        (node(gpu()), 0, "ok"),
        (LOST, 1, "gpu-lost"),
        (NodeSnapshot(), 0, "no-gpus"),
        # Non-fatal failures settle first: Unknown, Timeout, NoPermission, a driver reload.
        *((UNKNOWN, n, "ok") for n in range(1, READ_FAILURE_CYCLES)),
        (UNKNOWN, READ_FAILURE_CYCLES, "read-failing"),
        (node(gpu(0, errors=("Timeout",))), READ_FAILURE_CYCLES - 1, "ok"),
        (node(gpu(0, errors=("NoPermission",))), READ_FAILURE_CYCLES - 1, "ok"),
        (node(gpu(), errors=("Unknown",)), READ_FAILURE_CYCLES, "read-failing"),  # node-wide call failing
        (NodeSnapshot(error="DriverNotLoaded"), READ_FAILURE_CYCLES - 1, "ok"),
        (NodeSnapshot(error="DriverNotLoaded"), READ_FAILURE_CYCLES, "driver-not-loaded"),
        (NodeSnapshot(error="LibraryNotFound"), READ_FAILURE_CYCLES, "library-not-found"),
        (NodeSnapshot(error="Unknown"), READ_FAILURE_CYCLES + 5, "read-failing"),
    ],
)
def test_assess(snapshot: NodeSnapshot, failed_cycles: int, reason: str) -> None:
    health = assess(snapshot, failed_cycles)
    assert health.reason == reason and health.ok == (reason == "ok")
    assert health.value == ("ok" if reason == "ok" else "degraded")


def test_the_settle_time_is_a_parameter() -> None:
    assert assess(UNKNOWN, 1, threshold=1) == NodeHealth("read-failing")


def test_not_supported_is_no_failure() -> None:
    assert not read_failed(node(gpu(capability=None))) and read_failed(UNKNOWN)


@pytest.mark.parametrize(
    "reason", ["ok", "gpu-lost", "no-gpus", "read-failing", "driver-not-loaded", "library-not-found"]
)
def test_reasons_are_valid_label_values(reason: str) -> None:
    assert label_value(reason) == reason


def test_a_critical_xid_takes_out_one_device_not_the_node() -> None:
    one = node(gpu(0, xid_counts=((79, 1),)), gpu(1))
    health = assess(one, 0)
    assert health.ok and health.unhealthy_devices == ("GPU-0",)
    every = node(gpu(0, xid_counts=((79, 1),)), gpu(1, xid_counts=((48, 1),)))
    assert assess(every, 0) == NodeHealth("xid-critical", ("GPU-0", "GPU-1"))


def test_the_unhealthy_device_count_is_a_label_while_the_node_is_ok() -> None:
    from gpu_node_agent.labels import LabelContext, health_labels

    labels = health_labels(node(gpu(0, xid_counts=((79, 1),)), gpu(1)), LabelContext("p/"))
    assert labels == {"p/gpu.health": "ok", "p/gpu.unhealthy-devices": "1"}
