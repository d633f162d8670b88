"""The NVML adapter against fakes of pynvml's own functions, raising pynvml's own error classes."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pynvml
import pytest

from gpu_node_agent.nvml import NvmlReader, NvmlUnavailable

MIB = 1024 * 1024


class FakeNvml:
    """One node's worth of fake GPUs; `fail[(function, index)]` makes a call raise."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, count: int = 2) -> None:
        self.count = count
        self.init_error: type[pynvml.NVMLError] | None = None
        self.fail: dict[tuple[str, int | None], type[pynvml.NVMLError]] = {}
        self.inits = 0
        self.shutdowns = 0
        for name, fake in self._functions().items():
            monkeypatch.setattr(pynvml, name, fake)

    def _raise_for(self, function: str, handle: int | None = None) -> None:
        error = self.fail.get((function, handle)) or self.fail.get((function, None))
        if error is not None:
            raise error()

    def _device(self, function: str, result: Callable[[int], Any]) -> Callable[..., Any]:
        def call(handle: int, *args: Any, **kwargs: Any) -> Any:
            self._raise_for(function, handle)
            return result(handle)

        return call

    def _functions(self) -> dict[str, Callable[..., Any]]:
        def init() -> None:
            if self.init_error is not None:
                raise self.init_error()
            self.inits += 1

        def shutdown() -> None:
            self.shutdowns += 1

        def get_count() -> int:
            self._raise_for("nvmlDeviceGetCount")
            return self.count

        def get_handle(index: int) -> int:
            self._raise_for("nvmlDeviceGetHandleByIndex", index)
            return index

        def memory(handle: int, version: Any = None) -> Any:
            self._raise_for("nvmlDeviceGetMemoryInfo" + ("_v2" if version else ""), handle)
            info = SimpleNamespace(total=81559 * MIB, used=1024 * MIB, free=80535 * MIB)
            if version:
                info.reserved = 512 * MIB
            return info

        return {
            "nvmlInit": init,
            "nvmlShutdown": shutdown,
            "nvmlDeviceGetCount": get_count,
            "nvmlDeviceGetHandleByIndex": get_handle,
            "nvmlSystemGetDriverVersion": lambda: self._raise_for("nvmlSystemGetDriverVersion") or "550.54.15",
            "nvmlSystemGetCudaDriverVersion": lambda: 12040,
            "nvmlDeviceGetUUID": self._device("nvmlDeviceGetUUID", lambda h: f"GPU-{h}"),
            "nvmlDeviceGetName": self._device("nvmlDeviceGetName", lambda h: b"NVIDIA H100 80GB HBM3"),
            "nvmlDeviceGetMemoryInfo": memory,
            "nvmlDeviceGetUtilizationRates": self._device(
                "nvmlDeviceGetUtilizationRates", lambda h: SimpleNamespace(gpu=40 + h, memory=20)
            ),
            "nvmlDeviceGetTemperature": self._device("nvmlDeviceGetTemperature", lambda h: 50),
            "nvmlDeviceGetPowerUsage": self._device("nvmlDeviceGetPowerUsage", lambda h: 350_500),
            "nvmlDeviceGetMigMode": self._device("nvmlDeviceGetMigMode", lambda h: [0, 0]),
            "nvmlDeviceGetCudaComputeCapability": self._device("nvmlDeviceGetCudaComputeCapability", lambda h: (9, 0)),
        }


@pytest.fixture
def nvml(monkeypatch: pytest.MonkeyPatch) -> FakeNvml:
    return FakeNvml(monkeypatch)


def opened(nvml: FakeNvml) -> NvmlReader:
    reader = NvmlReader()
    reader.open()
    return reader


def test_reads_every_fact(nvml: FakeNvml) -> None:
    snapshot = opened(nvml).read()
    assert snapshot.healthy and snapshot.driver_version == "550.54.15" and snapshot.cuda_driver_version == 12040
    first = snapshot.gpus[0]
    assert first.name == "NVIDIA H100 80GB HBM3"  # bytes from old bindings decoded
    assert (first.memory_total_bytes, first.memory_used_bytes, first.memory_reserved_bytes) == (
        81559 * MIB,
        1024 * MIB,
        512 * MIB,
    )
    assert (first.utilization_gpu_percent, first.temperature_celsius, first.power_watts) == (40, 50, 350.5)
    assert (first.mig_capable, first.mig_enabled, first.compute_capability) == (True, False, (9, 0))


def test_library_missing_is_unavailable_with_a_hint(nvml: FakeNvml) -> None:
    nvml.init_error = pynvml.NVMLError_LibraryNotFound
    with pytest.raises(NvmlUnavailable, match="libnvidia-ml.so.1.*NVIDIA driver.*simulated:FILE"):
        NvmlReader().open()


def test_driver_not_loaded_is_an_error_snapshot_and_recovers(nvml: FakeNvml) -> None:
    nvml.init_error = pynvml.NVMLError_DriverNotLoaded
    reader = opened(nvml)  # does not raise: the driver may load later
    snapshot = reader.read()
    assert snapshot.error == "DriverNotLoaded" and not snapshot.healthy and snapshot.gpus == ()
    nvml.init_error = None
    assert reader.read().healthy and nvml.inits == 1


def test_a_gpu_lost_mid_run_is_unhealthy_and_the_others_keep_reporting(nvml: FakeNvml) -> None:
    reader = opened(nvml)
    assert reader.read().healthy
    nvml.fail[("nvmlDeviceGetUtilizationRates", 1)] = pynvml.NVMLError_GpuIsLost
    snapshot = reader.read()
    good, lost = snapshot.gpus
    assert good.healthy and good.utilization_gpu_percent == 40
    assert lost.lost and lost.errors == ("GpuIsLost",) and not snapshot.healthy
    assert lost.memory_total_bytes == 81559 * MIB  # what was read before the loss is kept
    assert lost.utilization_gpu_percent is None


def test_a_gpu_without_a_handle_is_lost(nvml: FakeNvml) -> None:
    nvml.fail[("nvmlDeviceGetHandleByIndex", 0)] = pynvml.NVMLError_GpuIsLost
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
def test_a_call_not_supported_omits_the_field_without_an_error(nvml: FakeNvml, function: str, field: str) -> None:
    nvml.fail[(function, None)] = pynvml.NVMLError_NotSupported
    snapshot = opened(nvml).read()
    assert all(getattr(g, field) is None for g in snapshot.gpus)
    assert snapshot.healthy and snapshot.error_kinds() == ()


def test_mig_not_supported_means_not_mig_capable(nvml: FakeNvml) -> None:
    nvml.fail[("nvmlDeviceGetMigMode", None)] = pynvml.NVMLError_NotSupported
    gpu = opened(nvml).read().gpus[0]
    assert gpu.mig_capable is False and gpu.mig_enabled is None


def test_memory_falls_back_to_v1_when_v2_is_missing(nvml: FakeNvml) -> None:
    nvml.fail[("nvmlDeviceGetMemoryInfo_v2", None)] = pynvml.NVMLError_FunctionNotFound
    gpu = opened(nvml).read().gpus[0]
    assert gpu.memory_used_bytes == 1024 * MIB and gpu.memory_reserved_bytes is None and gpu.healthy


def test_other_errors_are_recorded_and_degrade_the_gpu(nvml: FakeNvml) -> None:
    nvml.fail[("nvmlDeviceGetTemperature", 0)] = pynvml.NVMLError_Unknown
    snapshot = opened(nvml).read()
    assert snapshot.gpus[0].errors == ("Unknown",) and snapshot.gpus[0].power_watts == 350.5
    assert snapshot.error_kinds() == ("Unknown",)


def test_count_failing_mid_run_reinitialises_next_cycle(nvml: FakeNvml) -> None:
    reader = opened(nvml)
    nvml.fail[("nvmlDeviceGetCount", None)] = pynvml.NVMLError_Uninitialized
    assert reader.read().error == "Uninitialized"
    del nvml.fail[("nvmlDeviceGetCount", None)]
    assert reader.read().healthy and nvml.inits == 2


def test_close_shuts_nvml_down_once(nvml: FakeNvml) -> None:
    reader = opened(nvml)
    reader.close()
    reader.close()
    assert nvml.shutdowns == 1
