"""The NVML adapter over the real nvidia-ml-py, with an emulated libnvidia-ml under it (`FakeLibNvml`)."""

from __future__ import annotations

import pynvml
import pytest
from emulated import emulate, open_reader
from snapshot_builders import MIB, gpu, node

from gpu_node_agent.fakenvml import FakeLibNvml, nvml_error_class
from gpu_node_agent.nvml import NvmlReader, NvmlUnavailable
from gpu_node_agent.snapshot import NodeSnapshot


def two_h100s() -> NodeSnapshot:
    return node(
        *(
            gpu(
                i,
                used_mib=1024,
                util=40 + i,
                memory_reserved_bytes=512 * MIB,
                utilization_memory_percent=20,
                temperature_celsius=50,
                power_watts=350.5,
                mig_enabled=False,
                pci_bus_id=f"00000000:{i + 0x3B:02X}:00.0",
            )
            for i in range(2)
        )
    )


@pytest.fixture
def nvml(libnvml) -> FakeLibNvml:
    return libnvml(two_h100s)


def opened(nvml: FakeLibNvml | None = None) -> NvmlReader:
    return open_reader()


def test_reads_every_fact(nvml: FakeLibNvml) -> None:
    snapshot = opened(nvml).read()
    assert snapshot.healthy and snapshot.driver_version == "550.54.15" and snapshot.cuda_driver_version == 12040
    first = snapshot.gpus[0]
    assert (first.uuid, first.name, first.pci_bus_id) == ("GPU-0", "NVIDIA H100 80GB HBM3", "00000000:3B:00.0")
    assert (first.memory_total_bytes, first.memory_used_bytes, first.memory_reserved_bytes) == (
        81559 * MIB,
        1024 * MIB,
        512 * MIB,
    )
    assert (first.utilization_gpu_percent, first.temperature_celsius, first.power_watts) == (40, 50, 350.5)
    assert (first.mig_capable, first.mig_enabled, first.compute_capability) == (True, False, (9, 0))


def test_the_fake_raises_the_real_pynvml_classes() -> None:
    assert nvml_error_class("GpuIsLost") is pynvml.NVMLError_GpuIsLost
    with pytest.raises(ValueError, match="not a pynvml error"):
        nvml_error_class("Nope")


def test_library_missing_is_unavailable_with_a_hint(nvml: FakeLibNvml) -> None:
    nvml.init_error = pynvml.NVMLError_LibraryNotFound
    with pytest.raises(NvmlUnavailable, match="libnvidia-ml.so.1.*NVIDIA driver.*simulated:FILE"):
        NvmlReader().open()


def test_driver_not_loaded_is_an_error_snapshot_and_recovers(nvml: FakeLibNvml) -> None:
    nvml.init_error = pynvml.NVMLError_DriverNotLoaded
    reader = opened(nvml)  # does not raise: the driver may load later
    snapshot = reader.read()
    assert snapshot.error == "DriverNotLoaded" and not snapshot.healthy and snapshot.gpus == ()
    nvml.init_error = None
    assert reader.read().healthy and nvml.inits == 1


@pytest.mark.parametrize("error", [pynvml.NVMLError_Unknown, pynvml.NVMLError_DriverNotLoaded])
def test_a_node_wide_error_mid_run_is_an_error_snapshot(nvml: FakeLibNvml, error: type[Exception]) -> None:
    reader = opened(nvml)
    nvml.fail[("nvmlDeviceGetCount_v2", None)] = error
    assert reader.read().error == error.__name__.removeprefix("NVMLError_")


def test_a_gpu_lost_mid_run_is_unhealthy_and_the_others_keep_reporting(nvml: FakeLibNvml) -> None:
    reader = opened(nvml)
    assert reader.read().healthy
    nvml.fail[("nvmlDeviceGetUtilizationRates", 1)] = pynvml.NVMLError_GpuIsLost
    snapshot = reader.read()
    good, lost = snapshot.gpus
    assert good.healthy and good.utilization_gpu_percent == 40
    assert lost.lost and lost.errors == ("GpuIsLost",) and not snapshot.healthy
    assert lost.memory_total_bytes == 81559 * MIB  # what was read before the loss is kept
    assert lost.utilization_gpu_percent is None


def test_a_gpu_without_a_handle_is_lost(nvml: FakeLibNvml) -> None:
    nvml.fail[("nvmlDeviceGetHandleByIndex_v2", 0)] = pynvml.NVMLError_GpuIsLost
    snapshot = opened(nvml).read()
    assert snapshot.gpus[0].lost and snapshot.gpus[1].healthy


@pytest.mark.parametrize(
    ("function", "field"),
    [
        ("nvmlDeviceGetPowerUsage", "power_watts"),
        ("nvmlDeviceGetTemperature", "temperature_celsius"),
        ("nvmlDeviceGetUtilizationRates", "utilization_gpu_percent"),
        ("nvmlDeviceGetCudaComputeCapability", "compute_capability"),
    ],
)
def test_a_call_not_supported_omits_the_field_without_an_error(nvml: FakeLibNvml, function: str, field: str) -> None:
    nvml.fail[(function, None)] = pynvml.NVMLError_NotSupported
    snapshot = opened(nvml).read()
    assert all(getattr(g, field) is None for g in snapshot.gpus)
    assert snapshot.healthy and snapshot.error_kinds() == ()


def test_mig_not_supported_means_not_mig_capable(nvml: FakeLibNvml) -> None:
    nvml.fail[("nvmlDeviceGetMigMode", None)] = pynvml.NVMLError_NotSupported
    gpu = opened(nvml).read().gpus[0]
    assert gpu.mig_capable is False and gpu.mig_enabled is None


@pytest.mark.parametrize(
    "error",
    [pynvml.NVMLError_FunctionNotFound, pynvml.NVMLError_NotSupported, pynvml.NVMLError_ArgumentVersionMismatch],
)
def test_memory_falls_back_to_v1_when_v2_fails_and_that_is_no_error(nvml: FakeLibNvml, error: type[Exception]) -> None:
    nvml.fail[("nvmlDeviceGetMemoryInfo_v2", None)] = error
    snapshot = opened(nvml).read()
    gpu = snapshot.gpus[0]
    # v1 counts the reserved memory as used, as the library does.
    assert gpu.memory_used_bytes == (1024 + 512) * MIB and gpu.memory_reserved_bytes is None
    assert gpu.healthy and snapshot.error_kinds() == ()


def test_memory_v1_failing_too_is_an_error(nvml: FakeLibNvml) -> None:
    nvml.fail[("nvmlDeviceGetMemoryInfo_v2", None)] = pynvml.NVMLError_ArgumentVersionMismatch
    nvml.fail[("nvmlDeviceGetMemoryInfo", None)] = pynvml.NVMLError_Unknown
    gpu = opened(nvml).read().gpus[0]
    assert gpu.memory_total_bytes is None and gpu.errors == ("Unknown",)


def test_a_lost_gpu_during_the_v2_memory_call_is_lost(nvml: FakeLibNvml) -> None:
    nvml.fail[("nvmlDeviceGetMemoryInfo_v2", 0)] = pynvml.NVMLError_GpuIsLost
    gpu = opened(nvml).read().gpus[0]
    assert gpu.lost and gpu.errors == ("GpuIsLost",)


@pytest.mark.parametrize("error", [pynvml.NVMLError_Unknown, pynvml.NVMLError_Timeout, pynvml.NVMLError_NoPermission])
def test_other_errors_are_recorded_on_the_gpu(nvml: FakeLibNvml, error: type[Exception]) -> None:
    nvml.fail[("nvmlDeviceGetTemperature", 0)] = error
    snapshot = opened(nvml).read()
    kind = error.__name__.removeprefix("NVMLError_")
    assert snapshot.gpus[0].errors == (kind,) and snapshot.gpus[0].power_watts == 350.5
    assert not snapshot.gpus[0].lost and snapshot.error_kinds() == (kind,)


def test_a_failed_identity_call_leaves_the_field_empty(nvml: FakeLibNvml) -> None:
    nvml.fail[("nvmlDeviceGetUUID", 0)] = pynvml.NVMLError_Unknown
    first = opened(nvml).read().gpus[0]
    assert first.uuid == "" and first.name == "NVIDIA H100 80GB HBM3" and first.errors == ("Unknown",)


def test_count_failing_mid_run_reinitialises_next_cycle(nvml: FakeLibNvml) -> None:
    reader = opened(nvml)
    nvml.fail[("nvmlDeviceGetCount_v2", None)] = pynvml.NVMLError_Uninitialized
    assert reader.read().error == "Uninitialized"
    del nvml.fail[("nvmlDeviceGetCount_v2", None)]
    assert reader.read().healthy and nvml.inits == 2


def test_close_shuts_nvml_down_once(nvml: FakeLibNvml) -> None:
    reader = opened(nvml)
    reader.close()
    reader.close()
    assert nvml.shutdowns == 1


def test_utilization_is_the_mean_of_nvml_samples_since_the_last_read(libnvml) -> None:
    taken: dict[int, list[tuple[int, int]]] = {0: [(1_000_000, 10), (2_000_000, 30)], 1: [(1_500_000, 90)]}
    asked: list[tuple[int, int]] = []

    def samples(index: int, since_us: int) -> list[tuple[int, int]]:
        asked.append((index, since_us))
        return [s for s in taken[index] if s[0] > since_us]

    libnvml(two_h100s, samples=samples)
    reader = opened()
    first = reader.read()
    assert [g.utilization_sampled_percent for g in first.gpus] == [20.0, 90.0]
    # The next read asks only for newer samples; none is NVML's NotFound: no value, and no error.
    second = reader.read()
    assert asked[-2:] == [(0, 2_000_000), (1, 1_500_000)]
    assert [g.utilization_sampled_percent for g in second.gpus] == [None, None]
    assert second.healthy


def test_samples_not_supported_fall_back_to_the_instant_reading_without_an_error(nvml: FakeLibNvml) -> None:
    snapshot = opened(nvml).read()
    assert [g.utilization_sampled_percent for g in snapshot.gpus] == [None, None]
    assert snapshot.healthy and snapshot.gpus[0].utilization_gpu_percent == 40


# --- what real GPU nodes do that the old stand-in did not ------------------------------------------------------


def mig_node(*, used_mib: int = 0, reserved_mib: int = 0) -> NodeSnapshot:
    from gpu_node_agent.snapshot import MigSnapshot

    def device(gi: int) -> MigSnapshot:
        return MigSnapshot(
            gi, 0, "1g.10gb", f"MIG-{gi}", memory_total_bytes=9856 * MIB, memory_used_bytes=used_mib * MIB,
            memory_reserved_bytes=reserved_mib * MIB,
        )

    return node(*(gpu(i, mig_enabled=True, util=None, mig_devices=tuple(device(g) for g in range(1, 8)))
                  for i in range(2)))


def test_a_mig_node_without_privileges_reads_cleanly_with_its_mig_devices_memory(libnvml) -> None:
    libnvml(mig_node(used_mib=1024), privileged=False)
    snapshot = opened().read()
    assert snapshot.healthy and snapshot.error_kinds() == ()  # NoPermission on the parent is no read error
    first = snapshot.gpus[0]
    assert (first.memory_total_bytes, first.memory_used_bytes) == (7 * 9856 * MIB, 7 * 1024 * MIB)


def test_a_privileged_mig_node_reads_the_parent_s_own_memory(libnvml) -> None:
    libnvml(mig_node(), privileged=True)
    assert opened().read().gpus[0].memory_total_bytes == 81559 * MIB


def test_mig_devices_report_memory_as_gpus_do_reserved_apart(libnvml) -> None:
    libnvml(mig_node(used_mib=1024, reserved_mib=100))
    device = opened().read().gpus[0].mig_devices[0]
    # v2, as for GPUs: v1 would count the reserved 100 MiB as used.
    assert (device.memory_used_bytes, device.memory_reserved_bytes) == (1024 * MIB, 100 * MIB)


def test_failed_cycles_shut_nvml_down_so_close_leaves_no_reference(nvml: FakeLibNvml) -> None:
    reader = opened()
    nvml.fail[("nvmlDeviceGetCount_v2", None)] = pynvml.NVMLError_Unknown
    for _ in range(3):
        assert reader.read().error == "Unknown"
    del nvml.fail[("nvmlDeviceGetCount_v2", None)]
    assert reader.read().healthy
    reader.close()
    assert nvml.refcount == 0 and nvml.inits == nvml.shutdowns == 4


def test_no_permission_for_a_handle_is_a_read_error_not_a_lost_gpu(nvml: FakeLibNvml) -> None:
    from gpu_node_agent.health import assess

    nvml.fail[("nvmlDeviceGetHandleByIndex_v2", 0)] = pynvml.NVMLError_NoPermission
    snapshot = opened().read()
    assert not snapshot.gpus[0].lost and snapshot.gpus[0].errors == ("NoPermission",)
    assert assess(snapshot, failed_cycles=1).reason == "ok"  # a lost GPU would degrade at once


def test_an_older_driver_without_clocks_event_reasons_answers_the_throttle_reasons(libnvml) -> None:
    libnvml(node(gpu(0, clocks_event_reasons=pynvml.nvmlClocksEventReasonSwPowerCap), driver="525.147.05"))
    snapshot = opened().read()
    assert snapshot.gpus[0].clocks_event_reasons == pynvml.nvmlClocksEventReasonSwPowerCap and snapshot.healthy


@pytest.mark.parametrize("driver", ["535.183.01", "550.54.15", "570.86.10"])
def test_every_fact_reads_on_each_driver_of_the_matrix(libnvml, driver: str) -> None:
    lib = libnvml(lambda: two_h100s().__class__(**{**two_h100s().__dict__, "driver_version": driver}))
    snapshot = opened().read()
    assert snapshot.healthy and snapshot.driver_version == driver and lib.branch == driver.split(".")[0]
    assert snapshot.gpus[0].memory_reserved_bytes == 512 * MIB and snapshot.gpus[0].temperature_celsius == 50
