"""MIG devices read through NVML, labelled as GFD does, and their own metric series."""

from __future__ import annotations

from dataclasses import replace

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from emulated import emulate, open_reader
from snapshot_builders import MIB, PREFIX, gpu, node

from gpu_node_agent.labels import LabelContext, static_labels
from gpu_node_agent.metrics import AgentCollector
from gpu_node_agent.nvml import NvmlReader
from gpu_node_agent.simulated import SimulatedReader
from gpu_node_agent.snapshot import GpuSnapshot, MigSnapshot
from gpu_node_agent.state import AgentView

P = PREFIX


def mig(gi: int, profile: str = "1g.10gb", memory_mib: int = 9856, used_mib: int = 0) -> MigSnapshot:
    return MigSnapshot(
        gpu_instance_id=gi,
        compute_instance_id=0,
        profile=profile,
        uuid=f"MIG-{gi}",
        memory_total_bytes=memory_mib * MIB,
        memory_used_bytes=used_mib * MIB,
        memory_free_bytes=(memory_mib - used_mib) * MIB,
        memory_reserved_bytes=0,
    )


def mig_gpu(index: int, *devices: MigSnapshot) -> GpuSnapshot:
    return gpu(index, mig_enabled=True, mig_devices=devices)


def test_the_adapter_enumerates_mig_devices_through_nvml() -> None:
    layout = node(mig_gpu(0, mig(1), mig(2, "3g.40gb", 40192, used_mib=1024)), gpu(1, mig_enabled=False))
    emulate(layout)
    reader = open_reader()
    read = reader.read()
    reader.close()
    assert read.healthy
    assert read.gpus[0].mig_devices == layout.gpus[0].mig_devices  # ids, profile (from NVML's name), memory, uuid
    assert read.gpus[1].mig_devices == ()


SEVEN_EACH = node(*(mig_gpu(i, *(mig(g) for g in range(1, 8))) for i in range(2)))
MIXED = node(mig_gpu(0, mig(1), mig(2), mig(3, "3g.40gb", 40192)), gpu(1, mig_enabled=False))
INVALID = {f"{P}mig.strategy": "single", f"{P}gpu.product": "NVIDIA-H100-80GB-HBM3-MIG-INVALID",
           f"{P}gpu.count": "0", f"{P}gpu.memory": "0"}


@pytest.mark.parametrize(
    ("strategy", "layout", "expected"),
    [
        pytest.param(
            "single",
            SEVEN_EACH,
            {
                f"{P}mig.strategy": "single",
                f"{P}gpu.product": "NVIDIA-H100-80GB-HBM3-MIG-1g.10gb",
                f"{P}gpu.count": "14",
                f"{P}gpu.memory": "9856",
            },
            id="single: every GPU split into one profile",
        ),
        pytest.param(
            "mixed",
            SEVEN_EACH,
            {
                f"{P}mig.strategy": "mixed",
                f"{P}gpu.product": "NVIDIA-H100-80GB-HBM3",
                f"{P}gpu.count": "2",
                f"{P}mig-1g.10gb.count": "14",
            },
            id="mixed with a uniform layout: the GPU keys stay the physical GPUs' (no nvidia.com/gpu is offered)",
        ),
        pytest.param(
            "none",
            SEVEN_EACH,
            {f"{P}mig.strategy": None, f"{P}gpu.count": "2", f"{P}mig-1g.10gb.count": None},
            id="none: no MIG label, MIG-enabled GPUs are GPUs",
        ),
        pytest.param(
            "mixed",
            MIXED,
            {
                f"{P}mig.strategy": "mixed",
                f"{P}gpu.product": "NVIDIA-H100-80GB-HBM3",
                f"{P}gpu.count": "2",
                f"{P}gpu.memory": "81559",
                f"{P}mig-1g.10gb.count": "2",
                f"{P}mig-1g.10gb.memory": "9856",
                f"{P}mig-3g.40gb.count": "1",
                f"{P}mig-3g.40gb.memory": "40192",
            },
            id="mixed: two profiles and a whole GPU",
        ),
        pytest.param("single", MIXED, INVALID, id="single with a MIG-disabled GPU beside: GFD's MIG-INVALID"),
        pytest.param(
            "single", node(mig_gpu(0, mig(1)), mig_gpu(1)), INVALID, id="single with an empty MIG GPU: MIG-INVALID"
        ),
        pytest.param(
            "single",
            node(mig_gpu(0, mig(1), mig(2, "3g.40gb", 40192))),
            INVALID,
            id="single with two profiles: MIG-INVALID",
        ),
        pytest.param(
            "single",
            node(mig_gpu(0, mig(1, "1g.10gb+me"))),
            {f"{P}mig.strategy": "single", f"{P}gpu.product": "NVIDIA-H100-80GB-HBM3-MIG-1g.10gb.me"},
            id="a profile with media engines, written as GFD names the device",
        ),
        pytest.param(
            "mixed",
            node(mig_gpu(0, mig(1, "1g.10gb+me"))),
            {f"{P}mig-1g.10gb.me.count": "1"},
            id="mixed: the same name in the key",
        ),
        pytest.param(
            "single",
            node(gpu(0, mig_enabled=False), gpu(1, mig_enabled=False)),
            {f"{P}gpu.product": "NVIDIA-H100-80GB-HBM3", f"{P}gpu.count": "2", f"{P}mig.strategy": "single"},
            id="single without MIG-enabled GPUs: whole GPUs, as GFD",
        ),
    ],
)
def test_mig_labels_follow_the_configured_strategy_as_gfd_writes_them(
    strategy: str, layout, expected: dict[str, str | None]
) -> None:
    labels = static_labels(layout, LabelContext(P), mig_strategy=strategy)
    assert {key: labels.get(key) for key in expected} == expected


def test_mig_capable_comes_from_any_gpu() -> None:
    layout = node(gpu(0, mig_capable=False), gpu(1, mig_capable=True))
    assert static_labels(layout, LabelContext(P))[f"{P}mig.capable"] == "true"


def test_each_mig_device_has_its_own_memory_series_with_dcgm_s_instance_labels() -> None:
    layout = node(mig_gpu(0, mig(7, used_mib=512), mig(9, "2g.20gb", 19968)))
    view = AgentView(node="n1").after_cycle(layout, 0.0, 1.0)
    registry = CollectorRegistry()
    registry.register(AgentCollector(lambda: view))
    used = {
        (s.labels.get("GPU_I_PROFILE"), s.labels.get("GPU_I_ID")): s.value
        for family in text_string_to_metric_families(generate_latest(registry).decode())
        for s in family.samples
        if s.name == "gpu_node_agent_gpu_memory_used_bytes"
    }
    assert used == {(None, None): 0, ("1g.10gb", "7"): 512 * MIB, ("2g.20gb", "9"): 0}


def test_a_simulated_mig_node(examples_dir: str) -> None:
    reader = SimulatedReader(f"{examples_dir}/8x-h100-mig.yaml")
    reader.open()
    read = reader.read()
    reader.close()
    assert [len(g.mig_devices) for g in read.gpus] == [7] * 8
    labels = static_labels(read, LabelContext(P), mig_strategy="single")
    assert labels[f"{P}gpu.count"] == "56" and labels[f"{P}mig.strategy"] == "single"


def test_a_lost_gpu_keeps_the_mig_labels_of_the_last_good_read() -> None:
    good = node(mig_gpu(0, mig(1)), mig_gpu(1, mig(1)))
    lost = node(mig_gpu(0, mig(1)), replace(gpu(1), lost=True, errors=("GpuIsLost",)))
    labels = static_labels(lost, LabelContext(P, last_good=good), mig_strategy="single")
    assert labels[f"{P}gpu.count"] == "2" and labels[f"{P}mig.strategy"] == "single"


def test_an_xid_of_one_mig_instance_has_its_own_series_with_the_instance_labels() -> None:
    layout = node(mig_gpu(0, replace(mig(3), xid_counts=((94, 2),)), mig(4)))
    view = AgentView(node="n1").after_cycle(layout, 0.0, 1.0)
    registry = CollectorRegistry()
    registry.register(AgentCollector(lambda: view))
    xids = [
        (s.labels.get("GPU_I_ID"), s.labels["xid"], s.value)
        for family in text_string_to_metric_families(generate_latest(registry).decode())
        for s in family.samples
        if s.name == "gpu_node_agent_gpu_xid_errors_total"
    ]
    assert xids == [("3", "94", 2)]
