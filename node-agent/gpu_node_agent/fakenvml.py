"""A stand-in for the `pynvml` module, answering from a `NodeSnapshot` and raising pynvml's REAL error classes.

`NvmlReader(FakeNvml(...))` runs the same adapter code as a real node: the simulated source is built on it, and
the tests use it to inject the errors a real driver gives (`fail`, `init_error`). A snapshot's facts map to
calls: a `None` fact answers `NVMLError_NotSupported`, a lost GPU answers `NVMLError_GpuIsLost` to every call,
a node `error` (a pynvml class name without `NVMLError_`, e.g. `DriverNotLoaded`) is raised by `nvmlInit` and
`nvmlDeviceGetCount`.
"""

from __future__ import annotations

import queue
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, TypeVar

import pynvml

from .snapshot import GpuSnapshot, MigSnapshot, NodeSnapshot

__all__ = ["FakeNvml", "MigHandle", "nvml_error_class"]

ErrorClass = type[Exception]
# (GPU index, NVML timestamp µs) -> the utilization samples taken after it, as (timestamp µs, percent).
SampleSource = Callable[[int, int], list[tuple[int, int]]]
T = TypeVar("T")


def nvml_error_class(kind: str) -> ErrorClass:
    """`GpuIsLost` -> `pynvml.NVMLError_GpuIsLost` (pynvml builds one class per NVML return code)."""
    found = getattr(pynvml, f"NVMLError_{kind}", None)
    if not isinstance(found, type) or not issubclass(found, pynvml.NVMLError):
        raise ValueError(f"{kind!r} is not a pynvml error (NVMLError_<kind>)")
    return found


@dataclass(frozen=True)
class MigHandle:
    gpu: int
    slot: int


class FakeNvml:
    """The pynvml functions `NvmlReader` calls. `state()` is asked once per cycle (at `nvmlDeviceGetCount`).

    `fail[(function, index)]` (index None: every GPU, or a node-wide function) makes a call raise that class;
    `init_error` makes `nvmlInit` raise. Handles are GPU indexes.
    """

    NVML_TEMPERATURE_GPU = pynvml.NVML_TEMPERATURE_GPU
    NVML_MEMORY_ERROR_TYPE_CORRECTED = pynvml.NVML_MEMORY_ERROR_TYPE_CORRECTED
    NVML_MEMORY_ERROR_TYPE_UNCORRECTED = pynvml.NVML_MEMORY_ERROR_TYPE_UNCORRECTED
    NVML_VOLATILE_ECC = pynvml.NVML_VOLATILE_ECC
    NVML_AGGREGATE_ECC = pynvml.NVML_AGGREGATE_ECC
    nvmlEventTypeXidCriticalError = pynvml.nvmlEventTypeXidCriticalError
    NVML_GPU_UTILIZATION_SAMPLES = pynvml.NVML_GPU_UTILIZATION_SAMPLES
    nvmlMemory_v2 = pynvml.nvmlMemory_v2

    def __init__(self, state: Callable[[], NodeSnapshot], samples: SampleSource | None = None) -> None:
        self._state = state
        self._samples = samples
        self._node = NodeSnapshot()
        self.fail: dict[tuple[str, int | None], ErrorClass] = {}
        self.init_error: ErrorClass | None = None
        self.inits = 0
        self.shutdowns = 0
        self._events: queue.Queue[Any] = queue.Queue()
        self.registered: set[int] = set()

    def inject_xid(self, index: int, xid: int) -> None:
        """An XID event on GPU `index`, as the driver would deliver it to a registered event set."""
        self._events.put(SimpleNamespace(device=index, eventType=pynvml.nvmlEventTypeXidCriticalError, eventData=xid))

    # -- node-wide ---------------------------------------------------------------------------------------------

    def _raise_for(self, function: str, index: int | None = None) -> None:
        error = self.fail.get((function, index)) or self.fail.get((function, None))
        if error is not None:
            raise error()

    def _node_error(self, node: NodeSnapshot) -> None:
        if node.error is not None:
            raise nvml_error_class(node.error)()

    def nvmlInit(self) -> None:
        if self.init_error is not None:
            raise self.init_error()
        self._node_error(self._state())
        self.inits += 1

    def nvmlShutdown(self) -> None:
        self.shutdowns += 1

    def nvmlDeviceGetCount(self) -> int:
        self._raise_for("nvmlDeviceGetCount")
        self._node = self._state()
        self._node_error(self._node)
        return len(self._node.gpus)

    def nvmlSystemGetDriverVersion(self) -> str:
        self._raise_for("nvmlSystemGetDriverVersion")
        return self._supported(self._node.driver_version)

    def nvmlSystemGetCudaDriverVersion(self) -> int:
        self._raise_for("nvmlSystemGetCudaDriverVersion")
        return self._supported(self._node.cuda_driver_version)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> int:
        self._raise_for("nvmlDeviceGetHandleByIndex", index)
        if not 0 <= index < len(self._node.gpus):
            raise pynvml.NVMLError_InvalidArgument()
        return index

    # -- events ------------------------------------------------------------------------------------------------

    def nvmlEventSetCreate(self) -> str:
        self._raise_for("nvmlEventSetCreate")
        return "event-set"

    def nvmlDeviceRegisterEvents(self, handle: int, event_types: int, event_set: str) -> None:
        self._gpu("nvmlDeviceRegisterEvents", handle)
        self.registered.add(handle)

    def nvmlEventSetWait_v2(self, event_set: str, timeout_ms: int) -> Any:
        try:
            # At most 0.1 s, so a stopping watcher is not held for the real timeout (tests open many readers).
            return self._events.get(timeout=min(timeout_ms, 100) / 1000)
        except queue.Empty:
            raise pynvml.NVMLError_Timeout() from None

    def nvmlEventSetFree(self, event_set: str) -> None:
        pass

    def nvmlDeviceGetIndex(self, handle: int) -> int:
        return handle

    # -- per GPU -----------------------------------------------------------------------------------------------

    @staticmethod
    def _supported(value: T | None) -> T:
        if value is None:
            raise pynvml.NVMLError_NotSupported()
        return value

    def _gpu(self, function: str, handle: int) -> GpuSnapshot:
        if isinstance(handle, MigHandle):
            raise pynvml.NVMLError_InvalidArgument()  # a GPU-only call given a MIG device
        self._raise_for(function, handle)
        gpu = self._node.gpus[handle]
        if gpu.lost:
            raise pynvml.NVMLError_GpuIsLost()
        return gpu

    def nvmlDeviceGetUUID(self, handle: int | MigHandle) -> str:
        if isinstance(handle, MigHandle):
            return self._mig(handle).uuid
        return self._supported(self._gpu("nvmlDeviceGetUUID", handle).uuid or None)

    def nvmlDeviceGetName(self, handle: int | MigHandle) -> str:
        if isinstance(handle, MigHandle):
            return f"{self._node.gpus[handle.gpu].name} MIG {self._mig(handle).profile}"
        return self._supported(self._gpu("nvmlDeviceGetName", handle).name or None)

    # -- MIG: a MIG device's handle is a MigHandle(gpu index, slot) ------------------------------------------------

    def _mig(self, handle: MigHandle) -> MigSnapshot:
        self._raise_for("mig", handle.gpu)
        return self._node.gpus[handle.gpu].mig_devices[handle.slot]

    def nvmlDeviceGetMaxMigDeviceCount(self, handle: int) -> int:
        gpu = self._gpu("nvmlDeviceGetMaxMigDeviceCount", handle)
        if not gpu.mig_capable:
            raise pynvml.NVMLError_NotSupported()
        return 7

    def nvmlDeviceGetMigDeviceHandleByIndex(self, handle: int, slot: int) -> MigHandle:
        gpu = self._gpu("nvmlDeviceGetMigDeviceHandleByIndex", handle)
        if not gpu.mig_enabled or slot >= len(gpu.mig_devices):
            raise pynvml.NVMLError_NotFound()
        return MigHandle(handle, slot)

    def nvmlDeviceGetGpuInstanceId(self, handle: MigHandle) -> int:
        return self._mig(handle).gpu_instance_id

    def nvmlDeviceGetComputeInstanceId(self, handle: MigHandle) -> int:
        return self._mig(handle).compute_instance_id

    def nvmlDeviceGetPciInfo(self, handle: int) -> Any:
        gpu = self._gpu("nvmlDeviceGetPciInfo", handle)
        return SimpleNamespace(busId=gpu.pci_bus_id or f"00000000:{handle + 1:02X}:00.0")

    def nvmlDeviceGetMemoryInfo(self, handle: int | MigHandle, version: Any = None) -> Any:
        if isinstance(handle, MigHandle):
            mig = self._mig(handle)
            total, used = self._supported(mig.memory_total_bytes), mig.memory_used_bytes or 0
            return SimpleNamespace(total=total, used=used, free=total - used)
        gpu = self._gpu("nvmlDeviceGetMemoryInfo" + ("_v2" if version else ""), handle)
        total = self._supported(gpu.memory_total_bytes)
        used = gpu.memory_used_bytes or 0
        info = SimpleNamespace(total=total, used=used, free=total - used)
        if version:
            info.reserved = self._supported(gpu.memory_reserved_bytes)
        return info

    def nvmlDeviceGetUtilizationRates(self, handle: int) -> Any:
        gpu = self._gpu("nvmlDeviceGetUtilizationRates", handle)
        return SimpleNamespace(
            gpu=self._supported(gpu.utilization_gpu_percent), memory=gpu.utilization_memory_percent or 0
        )

    def nvmlDeviceGetSamples(self, handle: int, sampling_type: int, last_seen: int) -> tuple[int, list[Any]]:
        """As NVML: samples newer than `last_seen`; `NotFound` when there is none, `NotSupported` without a
        sample source."""
        self._gpu("nvmlDeviceGetSamples", handle)
        if self._samples is None or sampling_type != pynvml.NVML_GPU_UTILIZATION_SAMPLES:
            raise pynvml.NVMLError_NotSupported()
        found = self._samples(handle, last_seen)
        if not found:
            raise pynvml.NVMLError_NotFound()
        return pynvml.NVML_VALUE_TYPE_UNSIGNED_INT, [
            SimpleNamespace(timeStamp=t, sampleValue=SimpleNamespace(uiVal=v)) for t, v in found
        ]

    def nvmlDeviceGetTemperature(self, handle: int, sensor: int) -> int:
        return self._supported(self._gpu("nvmlDeviceGetTemperature", handle).temperature_celsius)

    def nvmlDeviceGetPowerUsage(self, handle: int) -> int:
        watts = self._gpu("nvmlDeviceGetPowerUsage", handle).power_watts
        return round(self._supported(watts) * 1000)

    def nvmlDeviceGetEnforcedPowerLimit(self, handle: int) -> int:
        watts = self._gpu("nvmlDeviceGetEnforcedPowerLimit", handle).power_limit_watts
        return round(self._supported(watts) * 1000)

    def nvmlDeviceGetTotalEccErrors(self, handle: int, error_type: int, counter_type: int) -> int:
        gpu = self._gpu("nvmlDeviceGetTotalEccErrors", handle)
        scope = "volatile" if counter_type == pynvml.NVML_VOLATILE_ECC else "aggregate"
        kind = "corrected" if error_type == pynvml.NVML_MEMORY_ERROR_TYPE_CORRECTED else "uncorrected"
        return self._supported(dict(gpu.ecc_errors).get((scope, kind)))

    def nvmlDeviceGetRemappedRows(self, handle: int) -> tuple[int, int, int, int]:
        gpu = self._gpu("nvmlDeviceGetRemappedRows", handle)
        correctable = self._supported(gpu.remapped_rows_correctable)
        return (
            correctable,
            gpu.remapped_rows_uncorrectable or 0,
            int(bool(gpu.row_remap_pending)),
            int(bool(gpu.row_remap_failed)),
        )

    def nvmlDeviceGetCurrentClocksEventReasons(self, handle: int) -> int:
        return self._supported(self._gpu("nvmlDeviceGetCurrentClocksEventReasons", handle).clocks_event_reasons)

    def nvmlDeviceGetMigMode(self, handle: int) -> list[int]:
        gpu = self._gpu("nvmlDeviceGetMigMode", handle)
        if not gpu.mig_capable:
            raise pynvml.NVMLError_NotSupported()
        return [int(bool(gpu.mig_enabled))] * 2

    def nvmlDeviceGetCudaComputeCapability(self, handle: int) -> tuple[int, int]:
        gpu = self._gpu("nvmlDeviceGetCudaComputeCapability", handle)
        return self._supported(gpu.compute_capability)
