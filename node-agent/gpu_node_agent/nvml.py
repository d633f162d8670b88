"""The NVML adapter: the only module that talks to the driver. One `read()` per cycle returns a snapshot.

Every call goes through the real nvidia-ml-py (`pynvml`); tests and the simulated source put an emulated
libnvidia-ml under it (`fakenvml.FakeLibNvml`), so the code under test is the code a real node runs, down to
the ctypes marshalling and the error mapping.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
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

    def __init__(self, error: pynvml.NVMLError) -> None:
        self.error = error


def error_kind(error: BaseException) -> str:
    """`NVMLError_GpuIsLost` -> `GpuIsLost`: a short, stable name for logs and the errors metric."""
    return type(error).__name__.removeprefix("NVMLError_")


def _text(value: str | bytes) -> str:
    # nvidia-ml-py returns some strings as bytes (a struct's char arrays, e.g. the PCI bus id).
    return value.decode() if isinstance(value, bytes) else value


@dataclass
class _Memo:
    """What the reader carries from one read to the next."""

    # Per GPU index: NVML timestamp (µs) of the newest utilization sample already read.
    last_sample: dict[int, int] = field(default_factory=dict)
    # GPUs whose MIG parent memory was refused (warned once each).
    warned_mig_memory: set[int] = field(default_factory=set)


class NvmlReader:
    """Reads every GPU through NVML. `open()` fails with `NvmlUnavailable` only when the library is missing;
    a driver that is not (yet) loaded yields snapshots with `error` set, and each read tries again.

    NVML counts `nvmlInit` calls; only the last `nvmlShutdown` releases its state. A failed cycle therefore shuts
    NVML down before the next init, so the re-init starts from fresh state and `close()` leaves the count at 0.
    """

    def __init__(self, watch_xid: bool = True, xid_backoff_seconds: float = 1.0) -> None:
        self._initialized = False
        # Started at the first read that finds GPUs; None when not wanted or already tried and unavailable.
        self._xid: XidWatcher | None = XidWatcher(xid_backoff_seconds) if watch_xid else None
        self._memo = _Memo()

    def open(self) -> None:
        try:
            self._init()
        except pynvml.NVMLError_LibraryNotFound as error:
            raise NvmlUnavailable(LIBRARY_NOT_FOUND_HINT) from error
        except pynvml.NVMLError as error:
            log.warning("NVML init failed (%s); will retry every cycle", error_kind(error))

    def close(self) -> None:
        self._shutdown()

    def read(self) -> NodeSnapshot:
        try:
            self._init()
            count = pynvml.nvmlDeviceGetCount()
        except pynvml.NVMLError as error:
            # Uninitialized / DriverNotLoaded / Unknown: shut down, re-init next cycle.
            self._shutdown()
            return NodeSnapshot(error=error_kind(error))
        node_errors: list[str] = []
        driver = self._node_fact(pynvml.nvmlSystemGetDriverVersion, node_errors)
        cuda = self._node_fact(pynvml.nvmlSystemGetCudaDriverVersion, node_errors)
        gpus = tuple(_read_gpu(i, self._memo) for i in range(count))
        snapshot = NodeSnapshot(
            gpus=gpus,
            driver_version=_text(driver) if driver is not None else None,
            cuda_driver_version=cuda,
            errors=tuple(node_errors),
        )
        return self._with_xids(snapshot, count)

    def _with_xids(self, snapshot: NodeSnapshot, count: int) -> NodeSnapshot:
        xid = self._xid
        if xid is None:
            return snapshot
        if not xid.running and count and not xid.start(count):
            self._xid = None  # no GPU takes XID events here (e.g. a vGPU guest): do not try every cycle
            return snapshot
        gpus = tuple(
            replace(
                g,
                xid_counts=xid.counts(g.index),
                mig_devices=tuple(
                    replace(m, xid_counts=xid.instance_counts(g.index, m.gpu_instance_id, m.compute_instance_id))
                    for m in g.mig_devices
                ),
            )
            for g in snapshot.gpus
        )
        errors = snapshot.errors + ((xid.failure,) if xid.failure else ())
        return replace(snapshot, gpus=gpus, unattributed_xid_counts=xid.unattributed(), errors=errors)

    def _init(self) -> None:
        if not self._initialized:
            pynvml.nvmlInit()
            self._initialized = True

    def _shutdown(self) -> None:
        if self._xid is not None:
            self._xid.stop()  # its event set goes with NVML's state; restarted, counts kept, at the next read
        if self._initialized:
            self._initialized = False
            try:
                pynvml.nvmlShutdown()
            except pynvml.NVMLError as error:
                log.warning("nvmlShutdown failed: %s", error_kind(error))

    @staticmethod
    def _node_fact(call: Callable[[], T], errors: list[str]) -> T | None:
        try:
            return call()
        except pynvml.NVMLError_NotSupported:
            return None
        except pynvml.NVMLError as error:
            errors.append(error_kind(error))
            return None


_NOT_AVAILABLE = (pynvml.NVMLError_NotSupported, pynvml.NVMLError_FunctionNotFound)


class _Calls:
    """Calls on one device handle, collecting errors; a lost GPU ends the read (`_GpuLost`)."""

    def __init__(self, handle: Any) -> None:
        self.handle = handle
        self.errors: list[str] = []

    def __call__(self, fn: Callable[..., T], *args: Any, quiet: bool = False, **kwargs: Any) -> T | None:
        """`quiet`: a failure (other than a lost GPU) raises `_CallFailed` and is not recorded."""
        try:
            return fn(self.handle, *args, **kwargs)
        except pynvml.NVMLError_GpuIsLost as error:
            self.errors.append(error_kind(error))
            raise _GpuLost from error
        except pynvml.NVMLError as error:
            if quiet:
                raise _CallFailed(error) from error
            if not isinstance(error, _NOT_AVAILABLE):
                self.errors.append(error_kind(error))
            return None  # not supported by this GPU or driver: the field is omitted, no error

    def quietly(self, fn: Callable[..., T], *args: Any) -> T | None:
        """Any failure but a lost GPU means "not available", not a failed read."""
        try:
            return self(fn, *args, quiet=True)
        except _CallFailed:
            return None


def _read_gpu(index: int, memo: _Memo) -> GpuSnapshot:
    try:
        handle = pynvml.nvmlDeviceGetHandleByIndex(index)
    except pynvml.NVMLError as error:
        # Only GpuIsLost says the GPU is gone; NoPermission (a GPU this container may not open) and the rest are
        # read errors, which degrade the node only when they last.
        log.warning("GPU %d: no handle (%s)", index, error_kind(error))
        lost = isinstance(error, pynvml.NVMLError_GpuIsLost)
        return GpuSnapshot(index=index, lost=lost, errors=(error_kind(error),))
    facts: dict[str, Any] = {}
    call = _Calls(handle)
    try:
        _read_facts(call, facts, index, memo)
        facts["utilization_sampled_percent"] = _sampled_utilization(call, memo.last_sample, index)
    except _GpuLost:
        log.warning("GPU %d is lost", index)
        return GpuSnapshot(index=index, lost=True, errors=tuple(call.errors), **facts)
    if call.errors:
        log.warning("GPU %d: errors reading %s", index, ", ".join(call.errors))
    return GpuSnapshot(index=index, errors=tuple(call.errors), **facts)


def _read_facts(call: _Calls, facts: dict[str, Any], index: int, memo: _Memo) -> None:
    """Fills `facts` in place, so a GPU lost halfway keeps what was read before it was lost."""
    uuid = call(pynvml.nvmlDeviceGetUUID)
    facts["uuid"] = _text(uuid) if uuid is not None else ""
    name = call(pynvml.nvmlDeviceGetName)
    facts["name"] = _text(name) if name is not None else ""
    pci = call(pynvml.nvmlDeviceGetPciInfo)
    facts["pci_bus_id"] = _text(pci.busId) if pci is not None else ""
    # MIG mode first: a MIG parent's memory is read differently.
    mig = call(pynvml.nvmlDeviceGetMigMode)
    facts["mig_capable"] = mig is not None
    facts["mig_enabled"] = bool(mig[0]) if mig is not None else None
    memory = _memory_info(call, mig_parent=bool(facts["mig_enabled"]))
    if memory is not None:
        facts.update(
            memory_total_bytes=memory.total,
            memory_used_bytes=memory.used,
            memory_free_bytes=memory.free,
            memory_reserved_bytes=getattr(memory, "reserved", None),
        )
    utilization = call(pynvml.nvmlDeviceGetUtilizationRates)
    if utilization is not None:
        facts.update(utilization_gpu_percent=utilization.gpu, utilization_memory_percent=utilization.memory)
    facts["temperature_celsius"] = call(pynvml.nvmlDeviceGetTemperature, pynvml.NVML_TEMPERATURE_GPU)
    power_mw = call(pynvml.nvmlDeviceGetPowerUsage)
    facts["power_watts"] = power_mw / 1000.0 if power_mw is not None else None
    limit_mw = call(pynvml.nvmlDeviceGetEnforcedPowerLimit)
    facts["power_limit_watts"] = limit_mw / 1000.0 if limit_mw is not None else None
    capability = call(pynvml.nvmlDeviceGetCudaComputeCapability)
    facts["compute_capability"] = (int(capability[0]), int(capability[1])) if capability is not None else None
    _read_reliability(call, facts)
    if facts["mig_enabled"]:
        facts["mig_devices"] = devices = _read_mig_devices(call)
        if memory is None and _all_known(devices):
            # The parent's memory needs privileges the agent does not have (NoPermission): its MIG devices' sum
            # stands in, which is what workloads can use (GFD only warns and goes on).
            if index not in memo.warned_mig_memory:
                memo.warned_mig_memory.add(index)
                log.warning("GPU %d: MIG parent memory not readable without privileges; using its MIG devices'", index)
            facts.update(
                memory_total_bytes=sum(d.memory_total_bytes or 0 for d in devices),
                memory_used_bytes=sum(d.memory_used_bytes or 0 for d in devices),
                memory_free_bytes=sum(d.memory_free_bytes or 0 for d in devices),
                memory_reserved_bytes=None,
            )


def _all_known(devices: tuple[MigSnapshot, ...]) -> bool:
    return bool(devices) and all(d.memory_total_bytes is not None for d in devices)


def _read_mig_devices(call: _Calls) -> tuple[MigSnapshot, ...]:
    """Every MIG device of a MIG-enabled GPU: slots up to the GPU's maximum, an empty slot answers NotFound."""
    slots = call(pynvml.nvmlDeviceGetMaxMigDeviceCount)
    devices = []
    for slot in range(slots or 0):
        mig = call.quietly(pynvml.nvmlDeviceGetMigDeviceHandleByIndex, slot)
        if mig is None:
            continue
        try:
            name = _text(pynvml.nvmlDeviceGetName(mig))
            memory = _memory_info(_Calls(mig), mig_parent=False)
            devices.append(
                MigSnapshot(
                    gpu_instance_id=int(pynvml.nvmlDeviceGetGpuInstanceId(mig)),
                    compute_instance_id=int(pynvml.nvmlDeviceGetComputeInstanceId(mig)),
                    # NVML names a MIG device `<GPU name> MIG <profile>`.
                    profile=name.rsplit(" MIG ", 1)[1] if " MIG " in name else "unknown",
                    uuid=_text(pynvml.nvmlDeviceGetUUID(mig)),
                    memory_total_bytes=memory.total if memory is not None else None,
                    memory_used_bytes=memory.used if memory is not None else None,
                    memory_free_bytes=memory.free if memory is not None else None,
                    memory_reserved_bytes=getattr(memory, "reserved", None),
                )
            )
        except (pynvml.NVMLError, _GpuLost) as error:
            # A MIG device being destroyed while read: skip it this cycle.
            log.warning("MIG device %d: %s", slot, type(error).__name__)
    return tuple(devices)


ECC_COUNTERS = (("volatile", "VOLATILE"), ("aggregate", "AGGREGATE"))
ECC_TYPES = (("corrected", "CORRECTED"), ("uncorrected", "UNCORRECTED"))


def _read_reliability(call: _Calls, facts: dict[str, Any]) -> None:
    """Reliability counters are missing on many GPUs (no ECC, no row remapping, older drivers), under several
    error codes: any failure but a lost GPU means "not available", not a failed read."""
    ecc = []
    for scope, counter in ECC_COUNTERS:
        for kind, error_type in ECC_TYPES:
            count = call.quietly(
                pynvml.nvmlDeviceGetTotalEccErrors,
                getattr(pynvml, f"NVML_MEMORY_ERROR_TYPE_{error_type}"),
                getattr(pynvml, f"NVML_{counter}_ECC"),
            )
            if count is not None:
                ecc.append(((scope, kind), int(count)))
    facts["ecc_errors"] = tuple(ecc)
    rows = call.quietly(pynvml.nvmlDeviceGetRemappedRows)
    if rows is not None:
        correctable, uncorrectable, pending, failed = rows
        facts.update(
            remapped_rows_correctable=int(correctable),
            remapped_rows_uncorrectable=int(uncorrectable),
            row_remap_pending=bool(pending),
            row_remap_failed=bool(failed),
        )
    facts["clocks_event_reasons"] = _clocks_event_reasons(call)


def _clocks_event_reasons(call: _Calls) -> int | None:
    """Renamed from "throttle reasons" in driver 535: an older driver lacks the new function (FunctionNotFound)
    and answers the old one."""
    try:
        return call(pynvml.nvmlDeviceGetCurrentClocksEventReasons, quiet=True)
    except _CallFailed as failed:
        if not isinstance(failed.error, pynvml.NVMLError_FunctionNotFound):
            return None
    return call.quietly(pynvml.nvmlDeviceGetCurrentClocksThrottleReasons)


def _sampled_utilization(call: _Calls, last_sample: dict[int, int], index: int) -> float | None:
    """The mean of the utilization samples NVML took since the last read. Not supported, or no new sample
    (`NVMLError_NotFound`): None, no error; the instantaneous reading stands in."""
    found = call.quietly(pynvml.nvmlDeviceGetSamples, pynvml.NVML_GPU_UTILIZATION_SAMPLES, last_sample.get(index, 0))
    if found is None:
        return None
    _, samples = found
    if not samples:
        return None
    last_sample[index] = max(int(s.timeStamp) for s in samples)
    return sum(float(s.sampleValue.uiVal) for s in samples) / len(samples)


def _memory_info(call: _Calls, mig_parent: bool) -> Any:
    """The v2 call (reserved memory apart from used) for GPUs and MIG devices alike, so `used` means the same
    everywhere. Any failure of it other than a lost GPU (NotSupported, FunctionNotFound, ArgumentVersionMismatch
    from a driver older than the bindings) falls back to v1 and is no error: only the v1 answer counts.
    A MIG parent's NoPermission is no error either: the caller sums its MIG devices instead."""
    try:
        return call(pynvml.nvmlDeviceGetMemoryInfo, version=pynvml.nvmlMemory_v2, quiet=True)
    except _CallFailed:
        pass
    try:
        return call(pynvml.nvmlDeviceGetMemoryInfo, quiet=True)
    except _CallFailed as failed:
        if mig_parent and isinstance(failed.error, pynvml.NVMLError_NoPermission):
            return None
        if not isinstance(failed.error, _NOT_AVAILABLE):
            call.errors.append(error_kind(failed.error))
        return None
