"""What the agent carries across cycles: the last good read, GPU identities, consecutive failures."""

from __future__ import annotations

from dataclasses import replace

from snapshot_builders import gpu, node

from gpu_node_agent.health import READ_FAILURE_CYCLES, NodeHealth
from gpu_node_agent.history import GpuIdentity, ReadHistory
from gpu_node_agent.snapshot import NodeSnapshot

GOOD = node(gpu(0, pci_bus_id="00000000:3B:00.0"), gpu(1, pci_bus_id="00000000:3C:00.0"))


def seen(*snapshots: NodeSnapshot) -> ReadHistory:
    history = ReadHistory()
    for snapshot in snapshots:
        history = history.after(snapshot)
    return history


def test_a_failed_read_keeps_the_last_good_one() -> None:
    history = seen(GOOD, NodeSnapshot(error="Unknown"), node(gpu(0, errors=("Unknown",))))
    assert history.last_good == GOOD and history.failed_cycles == 2 and history.health.ok


def test_failures_must_be_consecutive_to_degrade() -> None:
    failed = NodeSnapshot(error="Unknown")
    almost = [failed] * (READ_FAILURE_CYCLES - 1)
    assert seen(GOOD, *almost, GOOD, *almost).health.ok
    assert seen(GOOD, *almost, failed).health == NodeHealth("read-failing")
    assert seen(GOOD, *almost, failed, GOOD).health.ok and seen(*almost, failed, GOOD).failed_cycles == 0


def test_a_lost_gpu_degrades_at_once() -> None:
    lost = node(gpu(0), gpu(1, lost=True, errors=("GpuIsLost",)))
    assert seen(GOOD, lost).health == NodeHealth("gpu-lost")


def test_identity_survives_a_failed_uuid_name_or_bus_id_read() -> None:
    blank = node(
        replace(gpu(0), uuid="", errors=("Unknown",)),
        replace(gpu(1), uuid="", name="", lost=True, errors=("GpuIsLost",)),
    )
    history = seen(GOOD, blank)
    assert history.identities[1] == GpuIdentity("GPU-1", "NVIDIA H100 80GB HBM3", "00000000:3C:00.0")
    completed = history.complete(blank)
    assert [(g.uuid, g.name, g.pci_bus_id) for g in completed.gpus] == [
        ("GPU-0", "NVIDIA H100 80GB HBM3", "00000000:3B:00.0"),
        ("GPU-1", "NVIDIA H100 80GB HBM3", "00000000:3C:00.0"),
    ]
    assert completed.gpus[1].lost and completed.gpus[0].errors == ("Unknown",)  # only identity is filled


def test_a_new_identity_replaces_the_old() -> None:
    swapped = node(replace(gpu(0), uuid="GPU-new"))
    assert seen(GOOD, swapped).complete(swapped).gpus[0].uuid == "GPU-new"
