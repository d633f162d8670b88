"""Reliability signals: XID events (a thread on an NVML event set), ECC counters, row remapping, clock events."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import pynvml
import pytest
from emulated import emulate, open_reader, opened
from snapshot_builders import gpu, node

from gpu_node_agent.health import assess
from gpu_node_agent.history import ReadHistory
from gpu_node_agent.metrics import AgentCollector
from gpu_node_agent.nvml import NvmlReader
from gpu_node_agent.simulated import SimulatedReader
from gpu_node_agent.snapshot import GpuSnapshot, NodeSnapshot
from gpu_node_agent.state import AgentView
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families


def reliable_gpu(index: int) -> GpuSnapshot:
    return gpu(
        index,
        ecc_errors=(
            (("volatile", "corrected"), 3),
            (("volatile", "uncorrected"), 0),
            (("aggregate", "corrected"), 41),
            (("aggregate", "uncorrected"), 1),
        ),
        remapped_rows_correctable=2,
        remapped_rows_uncorrectable=1,
        row_remap_pending=True,
        row_remap_failed=False,
        clocks_event_reasons=pynvml.nvmlClocksEventReasonSwPowerCap | pynvml.nvmlClocksEventReasonHwThermalSlowdown,
    )


def read_until(reader: NvmlReader, done, seconds: float = 5.0) -> NodeSnapshot:
    deadline = time.monotonic() + seconds
    while True:
        snapshot = reader.read()
        if done(snapshot) or time.monotonic() > deadline:
            return snapshot
        time.sleep(0.02)


def test_ecc_remapped_rows_and_clock_events_are_read() -> None:
    emulate(node(reliable_gpu(0)))
    reader = open_reader()
    read = reader.read().gpus[0]
    reader.close()
    assert dict(read.ecc_errors) == {
        ("volatile", "corrected"): 3,
        ("volatile", "uncorrected"): 0,
        ("aggregate", "corrected"): 41,
        ("aggregate", "uncorrected"): 1,
    }
    assert (read.remapped_rows_correctable, read.remapped_rows_uncorrectable) == (2, 1)
    assert read.row_remap_pending is True and read.row_remap_failed is False
    power_cap, thermal = pynvml.nvmlClocksEventReasonSwPowerCap, pynvml.nvmlClocksEventReasonHwThermalSlowdown
    assert read.clocks_event_reasons == power_cap | thermal


def test_a_gpu_without_ecc_or_remapping_reads_cleanly_without_them() -> None:
    nvml = emulate(lambda: node(gpu(0)))
    nvml.fail[("nvmlDeviceGetRemappedRows", None)] = pynvml.NVMLError_NoPermission  # some drivers answer so
    reader = open_reader()
    read = reader.read()
    reader.close()
    assert read.healthy
    g = read.gpus[0]
    assert g.ecc_errors == () and g.remapped_rows_correctable is None and g.clocks_event_reasons is None


def test_xid_events_are_counted_per_gpu_and_code_by_the_event_thread() -> None:
    nvml = emulate(lambda: node(gpu(0), gpu(1)))
    reader = open_reader()
    try:
        assert reader.read().gpus[1].xid_counts == ()
        assert nvml.registered == {0, 1}
        for xid in (79, 13, 79):
            nvml.inject_xid(1, xid)
        read = read_until(reader, lambda s: sum(n for _, n in s.gpus[1].xid_counts) == 3)
    finally:
        reader.close()
    assert read.gpus[1].xid_counts == ((13, 1), (79, 2))
    assert read.gpus[0].xid_counts == ()


@pytest.mark.parametrize(("xid", "reason"), [(79, "xid-critical"), (48, "xid-critical"), (13, "ok"), (109, "ok")])
def test_critical_xids_degrade_the_node_and_application_ones_do_not(xid: int, reason: str) -> None:
    snapshot = node(gpu(0, xid_counts=((xid, 1),)))
    assert assess(snapshot, 0).reason == reason
    # And it stays so on later clean cycles: the counts are cumulative, as the device plugin keeps the device unhealthy.
    assert ReadHistory().after(snapshot).after(snapshot).health.reason == reason


def test_no_event_support_means_no_thread_and_no_error() -> None:
    nvml = emulate(lambda: node(gpu(0)))
    nvml.fail[("nvmlEventSetCreate", None)] = pynvml.NVMLError_NotSupported
    reader = open_reader()
    assert reader.read().healthy and reader.read().gpus[0].xid_counts == ()
    reader.close()


def test_reliability_metrics_use_the_agreed_names_and_labels() -> None:
    view = AgentView(node="n1").after_cycle(node(replace(reliable_gpu(0), xid_counts=((79, 2),))), 0.0, 1.0)
    registry = CollectorRegistry()
    registry.register(AgentCollector(lambda: view))
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(generate_latest(registry).decode())
        for sample in family.samples
    }
    gpu_key = {"Hostname": "n1", "UUID": "GPU-0", "device": "nvidia0", "gpu": "0", "node": "n1", "pci_bus_id": ""}
    gpu_key["modelName"] = "NVIDIA H100 80GB HBM3"

    def value(name: str, **extra: str) -> float:
        return samples[(name, tuple(sorted({**gpu_key, **extra}.items())))]

    assert value("gpu_node_agent_gpu_xid_errors_total", xid="79") == 2
    assert value("gpu_node_agent_gpu_ecc_errors_total", scope="aggregate", type="uncorrected") == 1
    assert value("gpu_node_agent_gpu_ecc_errors_total", scope="volatile", type="corrected") == 3
    assert value("gpu_node_agent_gpu_remapped_rows", cause="correctable") == 2
    assert value("gpu_node_agent_gpu_remapped_rows", cause="uncorrectable") == 1
    assert value("gpu_node_agent_gpu_row_remap_pending") == 1
    assert value("gpu_node_agent_gpu_row_remap_failed") == 0
    assert value("gpu_node_agent_gpu_clocks_event_active", reason="sw_power_cap") == 1
    assert value("gpu_node_agent_gpu_clocks_event_active", reason="hw_thermal_slowdown") == 1
    assert value("gpu_node_agent_gpu_clocks_event_active", reason="hw_slowdown") == 0


def test_a_simulated_file_injects_xids_and_ecc_errors(tmp_path: Path) -> None:
    trace = tmp_path / "xid.yaml"
    trace.write_text(
        "gpus:\n"
        "  - {count: 2, name: NVIDIA H100 80GB HBM3, memoryTotalMiB: 81559, eccErrors: {volatile: {uncorrected: 0}}}\n"
        "samples:\n"
        "  - {t: 0, utilization: 5}\n"
        "  - {t: 10, gpus: {1: {xid: 79, eccErrors: {volatile: {uncorrected: 2}},"
        " clocksEventReasons: [hw_slowdown]}}}\n"
        "  - {t: 20, utilization: 5}\n"
    )
    now = [0.0]
    reader = SimulatedReader(trace, lambda: now[0])
    reader.open()
    try:
        assert reader.read().gpus[1].xid_counts == ()
        now[0] = 12.0
        read = read_until(reader, lambda s: s.gpus[1].xid_counts != ())
    finally:
        reader.close()
    assert read.gpus[1].xid_counts == ((79, 1),) and read.gpus[0].xid_counts == ()
    assert dict(read.gpus[1].ecc_errors)[("volatile", "uncorrected")] == 2
    assert read.gpus[1].clocks_event_reasons == pynvml.nvmlClocksEventReasonHwSlowdown
    # One GPU of two is out, as the device plugin marks it: the node still offers the other.
    health = assess(read, 0)
    assert health.ok and health.unhealthy_devices == (read.gpus[1].uuid,)


def mig_gpu(index: int) -> GpuSnapshot:
    from gpu_node_agent.snapshot import MigSnapshot

    devices = tuple(MigSnapshot(gi, 0, "3g.40gb", f"MIG-{index}-{gi}", memory_total_bytes=1, memory_used_bytes=0)
                    for gi in (1, 2))
    return gpu(index, mig_enabled=True, mig_devices=devices, util=None)


def test_an_xid_of_one_mig_instance_lands_on_that_instance_and_takes_out_only_it() -> None:
    nvml = emulate(node(mig_gpu(0), gpu(1)), privileged=True)
    reader = open_reader()
    reader.read()
    nvml.inject_xid(0, 94, gpu_instance=2, compute_instance=0)
    read = read_until(reader, lambda s: s.gpus[0].mig_devices[1].xid_counts != ())
    first, second = read.gpus[0].mig_devices
    assert (first.xid_counts, second.xid_counts, read.gpus[0].xid_counts) == ((), ((94, 1),), ())
    health = assess(read, 0)
    assert health.ok and health.unhealthy_devices == ("MIG-0-2",)


def test_without_privileges_only_whole_gpu_xids_arrive_and_they_take_out_every_instance() -> None:
    nvml = emulate(node(mig_gpu(0), gpu(1)))
    reader = open_reader()
    reader.read()
    nvml.inject_xid(0, 94, gpu_instance=2, compute_instance=0)  # NVML does not deliver it to us
    nvml.inject_xid(0, 79)
    read = read_until(reader, lambda s: s.gpus[0].xid_counts != ())
    assert read.gpus[0].xid_counts == ((79, 1),)
    assert [m.xid_counts for m in read.gpus[0].mig_devices] == [(), ()]
    assert assess(read, 0).unhealthy_devices == ("MIG-0-1", "MIG-0-2")


def test_the_watcher_recreates_a_failing_event_set_and_sees_later_xids() -> None:
    nvml = emulate(node(gpu(0), gpu(1)))
    reader = open_reader()
    reader.read()
    nvml.break_event_sets()  # a driver reset: every wait on the old set fails from now on
    deadline = time.monotonic() + 5
    while nvml.registered != {0, 1} and time.monotonic() < deadline:
        time.sleep(0.01)
    nvml.inject_xid(1, 79)
    read = read_until(reader, lambda s: s.gpus[1].xid_counts != ())
    assert read.gpus[1].xid_counts == ((79, 1),) and nvml.live_event_sets == 1  # the broken set was freed
    assert read.errors == ()  # recovered: nothing to report


def test_while_the_event_set_cannot_be_recreated_the_read_says_so() -> None:
    nvml = emulate(node(gpu(0)))
    reader = open_reader()
    reader.read()
    nvml.fail[("nvmlEventSetCreate", None)] = pynvml.NVMLError_Unknown
    nvml.break_event_sets()
    read = read_until(reader, lambda s: s.errors != ())
    assert read.errors == ("Unknown",)
    del nvml.fail[("nvmlEventSetCreate", None)]
    assert read_until(reader, lambda s: s.errors == ()).errors == ()


def test_an_event_whose_index_cannot_be_read_is_placed_by_its_uuid() -> None:
    nvml = emulate(node(gpu(0), gpu(1)))
    reader = open_reader()
    reader.read()
    nvml.fail[("nvmlDeviceGetIndex", None)] = pynvml.NVMLError_Unknown
    nvml.inject_xid(1, 79)
    read = read_until(reader, lambda s: s.gpus[1].xid_counts != ())
    assert read.gpus[1].xid_counts == ((79, 1),) and read.unattributed_xid_counts == ()


def test_an_event_of_an_unknown_gpu_is_kept_and_counts_against_every_device() -> None:
    nvml = emulate(node(gpu(0), gpu(1)))
    reader = open_reader()
    reader.read()
    nvml.fail[("nvmlDeviceGetIndex", None)] = pynvml.NVMLError_Unknown
    nvml.fail[("nvmlDeviceGetUUID", None)] = pynvml.NVMLError_Unknown
    nvml.inject_xid(1, 79)
    read = read_until(reader, lambda s: s.unattributed_xid_counts != ())
    assert read.unattributed_xid_counts == ((79, 1),)
    assert assess(read, 0).reason == "xid-critical"  # as the device plugin: every device unhealthy


@pytest.mark.parametrize(("privileged", "expected"), [(True, ((94, 1),)), (False, ())])
def test_a_simulated_file_can_give_an_xid_to_one_mig_instance(tmp_path: Path, privileged: bool, expected) -> None:
    trace = tmp_path / "mig-xid.yaml"
    trace.write_text(
        f"privileged: {str(privileged).lower()}\n"
        "gpus:\n"
        "  - {name: NVIDIA H100 80GB HBM3, memoryTotalMiB: 81559, migCapable: true, migEnabled: true,\n"
        "     migDevices: [{profile: 3g.40gb, count: 2, memoryMiB: 40192}]}\n"
        "samples:\n"
        "  - {t: 0}\n"
        "  - {t: 10, xid: [{code: 94, gpuInstance: 2, computeInstance: 0}, 79]}\n"
    )
    now = [0.0]
    reader = SimulatedReader(trace, lambda: now[0])
    opened(reader)
    reader.read()
    now[0] = 12.0
    read = read_until(reader, lambda s: s.gpus[0].xid_counts != ())
    if privileged:
        read = read_until(reader, lambda s: s.gpus[0].mig_devices[1].xid_counts != ())
    assert read.gpus[0].xid_counts == ((79, 1),) and read.gpus[0].mig_devices[1].xid_counts == expected


def test_a_malformed_simulated_xid_names_the_file(tmp_path: Path) -> None:
    from gpu_node_agent.simulated import SimulationError, load_simulation

    trace = tmp_path / "bad.yaml"
    trace.write_text("gpus: [{name: x}]\nsamples: [{t: 0, xid: {gi: 2}}, {t: 1}]\n")
    with pytest.raises(SimulationError, match=r"bad.yaml: xid \{'gi': 2\}: expected \{code, gpuInstance"):
        load_simulation(trace)
