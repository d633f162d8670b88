"""The NVML adapter: the only module that talks to the driver. One `read()` per cycle returns a snapshot.

Every NVML function is called on the module given to `NvmlReader` (the real `pynvml` by default). Tests and
the simulated source pass `fakenvml.FakeNvml` instead, which raises pynvml's own error classes; errors are
always caught as the real `pynvml` classes, so the code under test is the code a real node runs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any, TypeVar

import pynvml

from .snapshot import GpuSnapshot, MigSnapshot, NodeSnapshot
from .xid import XidWatcher

__all__ = ["NvmlReader", "NvmlUnavailable", "error_kind"]

log = logging.getLogger(__name__)
T = TypeVar("T")

LIBRARY_NOT_FOUND_HINT = (
    "NVML library (libnvidia-ml.so.1) not found: check that the NVIDIA driver is installed on this node and, "
    "in a container, that it runs with the NVIDIA runtime (runtimeClassName nvidia, NVIDIA_VISIBLE_DEVICES=all); "
    "to try the agent without a GPU use --gpu-source simulated:FILE"
)
DRIVER_NOT_LOADED_HINT = "NVIDIA driver not loaded: check `lsmod | grep nvidia` and the driver install on this node"


class NvmlUnavailable(Exception):
    """NVML cannot be used on this machine at all; the message says what to check."""


class _GpuLost(Exception):
    """Internal: a call reported the GPU lost; stop reading it."""


class _CallFailed(Exception):
    """Internal: a quiet call failed; the caller has a fallback."""


def error_kind(error: BaseException) -> str:
    """`NVMLError_GpuIsLost` -> `GpuIsLost`: a short, stable name for logs and the errors metric."""
    return type(error).__name__.removeprefix("NVMLError_")


def _text(value: str | bytes) -> str:
    # nvidia-ml-py before 11.5 returned bytes.
    return value.decode() if isinstance(value, bytes) else value


class NvmlReader:
    """Reads every GPU through NVML. `open()` fails with `NvmlUnavailable` only when the library is missing;
    a driver that is not (yet) loaded yields snapshots with `error` set, and each read tries again."""

    def __init__(self, nvml: Any = pynvml, watch_xid: bool = True) -> None:
        # `nvml`: the pynvml module or a stand-in with the same functions (nvidia-ml-py ships no types).
        self._nvml = nvml
        self._initialized = False
        # Started at the first read that finds GPUs; None when not wanted or already tried and unavailable.
        self._xid: XidWatcher | None = XidWatcher(nvml) if watch_xid else None
        # Per GPU index: NVML timestamp (µs) of the newest utilization sample already read.
        self._last_sample: dict[int, int] = {}

    def open(self) -> None:
        try:
            self._init()
        except pynvml.NVMLError_LibraryNotFound as error:
            raise NvmlUnavailable(LIBRARY_NOT_FOUND_HINT) from error
        except pynvml.NVMLError as error:
            log.warning("NVML init failed (%s); will retry every cycle", error_kind(error))

    def close(self) -> None:
        if self._xid is not None:
            self._xid.stop()
        if self._initialized:
            self._initialized = False
            try:
                self._nvml.nvmlShutdown()
            except pynvml.NVMLError as error:
                log.warning("nvmlShutdown failed: %s", error_kind(error))

    def read(self) -> NodeSnapshot:
        try:
            self._init()
            count = self._nvml.nvmlDeviceGetCount()
        except pynvml.NVMLError as error:
            # Uninitialized / DriverNotLoaded / Unknown: re-init next cycle.
            self._initialized = False
            return NodeSnapshot(error=error_kind(error))
        node_errors: list[str] = []
        driver = self._node_fact(self._nvml.nvmlSystemGetDriverVersion, node_errors)
        cuda = self._node_fact(self._nvml.nvmlSystemGetCudaDriverVersion, node_errors)
        gpus = tuple(_read_gpu(self._nvml, i, self._last_sample) for i in range(count))
        return NodeSnapshot(
            gpus=self._with_xids(gpus, count),
            driver_version=_text(driver) if driver is not None else None,
            cuda_driver_version=cuda,
            errors=tuple(node_errors),
        )

    def _with_xids(self, gpus: tuple[GpuSnapshot, ...], count: int) -> tuple[GpuSnapshot, ...]:
        xid = self._xid
        if xid is None:
            return gpus
        if not xid.running and count and not xid.start(count):
            self._xid = None  # no GPU takes XID events here (e.g. a vGPU guest): do not try every cycle
            return gpus
        return tuple(replace(g, xid_counts=xid.counts(g.index)) for g in gpus)

    def _init(self) -> None:
        if not self._initialized:
            self._nvml.nvmlInit()
            self._initialized = True

    @staticmethod
    def _node_fact(call: Callable[[], T], errors: list[str]) -> T | None:
        try:
            return call()
        except pynvml.NVMLError_NotSupported:
            return None
        except pynvml.NVMLError as error:
            errors.append(error_kind(error))
            return None


def _read_gpu(nvml: Any, index: int, last_sample: dict[int, int]) -> GpuSnapshot:
    try:
        handle = nvml.nvmlDeviceGetHandleByIndex(index)
    except pynvml.NVMLError as error:
        log.warning("GPU %d: no handle (%s)", index, error_kind(error))
        return GpuSnapshot(index=index, lost=True, errors=(error_kind(error),))
    facts: dict[str, Any] = {}
    errors: list[str] = []

    def call(fn: Callable[..., T], *args: Any, quiet: bool = False, **kwargs: Any) -> T | None:
        """`quiet`: a failure (other than a lost GPU) raises `_CallFailed` and is not recorded."""
        try:
            return fn(handle, *args, **kwargs)
        except pynvml.NVMLError_GpuIsLost as error:
            errors.append(error_kind(error))
            raise _GpuLost from error
        except pynvml.NVMLError as error:
            if quiet:
                raise _CallFailed from error
            if not isinstance(error, (pynvml.NVMLError_NotSupported, pynvml.NVMLError_FunctionNotFound)):
                errors.append(error_kind(error))
            return None  # not supported by this GPU or driver: the field is omitted, no error

    try:
        _read_facts(nvml, call, facts)
        facts["utilization_sampled_percent"] = _sampled_utilization(nvml, call, last_sample, index)
    except _GpuLost:
        log.warning("GPU %d is lost", index)
        return GpuSnapshot(index=index, lost=True, errors=tuple(errors), **facts)
    if errors:
        log.warning("GPU %d: errors reading %s", index, ", ".join(errors))
    return GpuSnapshot(index=index, errors=tuple(errors), **facts)


def _read_facts(nvml: Any, call: Callable[..., Any], facts: dict[str, Any]) -> None:
    """Fills `facts` in place, so a GPU lost halfway keeps what was read before it was lost."""
    uuid = call(nvml.nvmlDeviceGetUUID)
    facts["uuid"] = _text(uuid) if uuid is not None else ""
    name = call(nvml.nvmlDeviceGetName)
    facts["name"] = _text(name) if name is not None else ""
    pci = call(nvml.nvmlDeviceGetPciInfo)
    facts["pci_bus_id"] = _text(pci.busId) if pci is not None else ""
    memory = _memory_info(nvml, handle_call=call)
    if memory is not None:
        facts.update(
            memory_total_bytes=memory.total,
            memory_used_bytes=memory.used,
            memory_free_bytes=memory.free,
            memory_reserved_bytes=getattr(memory, "reserved", None),
        )
    utilization = call(nvml.nvmlDeviceGetUtilizationRates)
    if utilization is not None:
        facts.update(utilization_gpu_percent=utilization.gpu, utilization_memory_percent=utilization.memory)
    facts["temperature_celsius"] = call(nvml.nvmlDeviceGetTemperature, nvml.NVML_TEMPERATURE_GPU)
    power_mw = call(nvml.nvmlDeviceGetPowerUsage)
    facts["power_watts"] = power_mw / 1000.0 if power_mw is not None else None
    limit_mw = call(nvml.nvmlDeviceGetEnforcedPowerLimit)
    facts["power_limit_watts"] = limit_mw / 1000.0 if limit_mw is not None else None
    mig = call(nvml.nvmlDeviceGetMigMode)
    facts["mig_capable"] = mig is not None
    facts["mig_enabled"] = bool(mig[0]) if mig is not None else None
    capability = call(nvml.nvmlDeviceGetCudaComputeCapability)
    facts["compute_capability"] = (int(capability[0]), int(capability[1])) if capability is not None else None
    _read_reliability(nvml, call, facts)
    if facts["mig_enabled"]:
        facts["mig_devices"] = _read_mig_devices(nvml, call)


def _read_mig_devices(nvml: Any, call: Callable[..., Any]) -> tuple[MigSnapshot, ...]:
    """Every MIG device of a MIG-enabled GPU: slots up to the GPU's maximum, an empty slot answers NotFound."""
    slots = call(nvml.nvmlDeviceGetMaxMigDeviceCount)
    devices = []
    for slot in range(slots or 0):
        mig = _quietly(call, nvml.nvmlDeviceGetMigDeviceHandleByIndex, slot)
        if mig is None:
            continue
        try:
            name = _text(nvml.nvmlDeviceGetName(mig))
            memory = nvml.nvmlDeviceGetMemoryInfo(mig)
            devices.append(
                MigSnapshot(
                    gpu_instance_id=int(nvml.nvmlDeviceGetGpuInstanceId(mig)),
                    compute_instance_id=int(nvml.nvmlDeviceGetComputeInstanceId(mig)),
                    # NVML names a MIG device `<GPU name> MIG <profile>`.
                    profile=name.rsplit(" MIG ", 1)[1] if " MIG " in name else "unknown",
                    uuid=_text(nvml.nvmlDeviceGetUUID(mig)),
                    memory_total_bytes=memory.total,
                    memory_used_bytes=memory.used,
                    memory_free_bytes=memory.free,
                )
            )
        except pynvml.NVMLError as error:
            # A MIG device being destroyed while read: skip it this cycle.
            log.warning("MIG device %d: %s", slot, error_kind(error))
    return tuple(devices)


def _quietly(call: Callable[..., Any], fn: Callable[..., T], *args: Any) -> T | None:
    """Reliability counters are missing on many GPUs (no ECC, no row remapping, older drivers), under several
    error codes: any failure but a lost GPU means "not available", not a failed read."""
    try:
        return call(fn, *args, quiet=True)  # type: ignore[no-any-return]
    except _CallFailed:
        return None


ECC_COUNTERS = (("volatile", "VOLATILE"), ("aggregate", "AGGREGATE"))
ECC_TYPES = (("corrected", "CORRECTED"), ("uncorrected", "UNCORRECTED"))


def _read_reliability(nvml: Any, call: Callable[..., Any], facts: dict[str, Any]) -> None:
    ecc = []
    for scope, counter in ECC_COUNTERS:
        for kind, error_type in ECC_TYPES:
            count = _quietly(
                call,
                nvml.nvmlDeviceGetTotalEccErrors,
                getattr(nvml, f"NVML_MEMORY_ERROR_TYPE_{error_type}"),
                getattr(nvml, f"NVML_{counter}_ECC"),
            )
            if count is not None:
                ecc.append(((scope, kind), int(count)))
    facts["ecc_errors"] = tuple(ecc)
    rows = _quietly(call, nvml.nvmlDeviceGetRemappedRows)
    if rows is not None:
        correctable, uncorrectable, pending, failed = rows
        facts.update(
            remapped_rows_correctable=int(correctable),
            remapped_rows_uncorrectable=int(uncorrectable),
            row_remap_pending=bool(pending),
            row_remap_failed=bool(failed),
        )
    # Renamed from "throttle reasons" in recent drivers; the old name stays for older bindings.
    reasons = getattr(nvml, "nvmlDeviceGetCurrentClocksEventReasons", None)
    reasons = reasons or nvml.nvmlDeviceGetCurrentClocksThrottleReasons
    facts["clocks_event_reasons"] = _quietly(call, reasons)


def _sampled_utilization(nvml: Any, call: Callable[..., Any], last_sample: dict[int, int], index: int) -> float | None:
    """The mean of the utilization samples NVML took since the last read. Not supported, or no new sample
    (`NVMLError_NotFound`): None, no error; the instantaneous reading stands in."""
    try:
        _, samples = call(
            nvml.nvmlDeviceGetSamples, nvml.NVML_GPU_UTILIZATION_SAMPLES, last_sample.get(index, 0), quiet=True
        )
    except _CallFailed:
        return None
    if not samples:
        return None
    last_sample[index] = max(int(s.timeStamp) for s in samples)
    return sum(float(s.sampleValue.uiVal) for s in samples) / len(samples)


def _memory_info(nvml: Any, handle_call: Callable[..., Any]) -> Any:
    """The v2 call adds `reserved`. Any failure of it other than a lost GPU (NotSupported, FunctionNotFound,
    ArgumentVersionMismatch from a driver older than the bindings) falls back to v1 and is no error: only the
    v1 answer counts."""
    version = getattr(nvml, "nvmlMemory_v2", None)
    if version is not None:
        try:
            return handle_call(nvml.nvmlDeviceGetMemoryInfo, version=version, quiet=True)
        except _CallFailed:
            pass
    return handle_call(nvml.nvmlDeviceGetMemoryInfo)
