"""An emulated `libnvidia-ml`, under the real nvidia-ml-py: `pynvml.nvmlLib` is replaced, nothing else.

Every function is a ctypes C function pointer (`CFUNCTYPE`) with the argument types of its nvml.h prototype, so
each `pynvml.nvml*` call runs its real wrapper: it builds the C structs and buffers, passes them by reference, and
maps the returned `nvmlReturn_t` to its own error class. What the library would write (strings, structs, counts)
is written into that memory here. `node-agent/tests/test_fakenvml.py` checks every emulated symbol against the
prototypes copied from nvml.h, and the driver matrix against nvml.h's history, so the emulation cannot drift.

It answers from a `NodeSnapshot` (asked at init and once per cycle, at `nvmlDeviceGetCount_v2`) and behaves as
the library does where the agent has been caught out before:

- refcounted `nvmlInit`/`nvmlShutdown`; any other call with the count at 0 answers `Uninitialized`;
- an unprivileged caller (the agent: non-root, no capabilities) gets `NoPermission` for a MIG-enabled GPU's
  memory, and no XID event attributable to one MIG instance (only those affecting the whole GPU);
- a MIG-enabled GPU has no utilization and no utilization samples (`NotSupported`);
- XID events carry the GPU and compute instance ids (0xFFFFFFFF when not attributable);
- PCI bus ids are C `char` arrays (bytes in Python); `nvmlMemory_v2` checks the struct version;
- `driver`: a branch of `DRIVER_MISSING_SYMBOLS`, whose missing functions answer `FunctionNotFound` as a real
  older driver does (nvidia-ml-py raises it when the symbol lookup fails);
- `fail[(symbol, gpu index or None)]` makes a call return an error; `break_event_sets()` makes every existing
  event set's wait fail, as after a driver reset; `inject_xid` delivers an event.

The simulated GPU source (`simulated.py`, used by `make up`) runs on it too, in its own process.
"""

from __future__ import annotations

import ctypes
import logging
import queue
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from ctypes import CFUNCTYPE, c_char, c_int, c_uint, c_ulonglong, c_void_p
from dataclasses import dataclass, field
from typing import Any

import pynvml

from .snapshot import GpuSnapshot, MigSnapshot, NodeSnapshot

__all__ = [
    "DRIVER_MISSING_SYMBOLS",
    "SIGNATURES",
    "FakeLibNvml",
    "nvml_error_class",
    "nvml_error_code",
]

log = logging.getLogger(__name__)

ErrorClass = type[Exception]
# (GPU index, NVML timestamp µs) -> the utilization samples taken after it, as (timestamp µs, percent).
SampleSource = Callable[[int, int], list[tuple[int, int]]]

# nvmlReturn_t values (nvml.h).
SUCCESS = 0
UNINITIALIZED = 1
INVALID_ARGUMENT = 2
NOT_SUPPORTED = 3
NO_PERMISSION = 4
NOT_FOUND = 6
INSUFFICIENT_SIZE = 7
TIMEOUT = 10
GPU_IS_LOST = 15
ARGUMENT_VERSION_MISMATCH = 25
UNKNOWN = 999

NOT_ATTRIBUTABLE = 0xFFFFFFFF  # an event's gpuInstanceId/computeInstanceId when it affects the whole GPU
MAX_MIG_DEVICES = 7
XID_CRITICAL_ERROR = 0x8  # nvmlEventTypeXidCriticalError
TEMPERATURE_GPU = 0  # NVML_TEMPERATURE_GPU
GPU_UTILIZATION_SAMPLES = 1  # NVML_GPU_UTILIZATION_SAMPLES
VALUE_TYPE_UNSIGNED_INT = 1
NVML_MEMORY_V2 = (2 << 24) | 40  # NVML_STRUCT_VERSION(Memory, 2): sizeof(nvmlMemory_v2_t) = 40

# Opaque handles: GPU i is _HANDLE_BASE + i * _HANDLE_STRIDE, its MIG device in slot s that plus 1 + s.
_HANDLE_BASE = 0x10000
_HANDLE_STRIDE = 0x100
_EVENT_SET_BASE = 0xE0000

# Functions a driver branch lacks, from the nvml.h of its CUDA release (tests/data/nvml_driver_symbols.json).
DRIVER_MISSING_SYMBOLS: dict[str, frozenset[str]] = {
    "525": frozenset({"nvmlDeviceGetCurrentClocksEventReasons"}),
    "535": frozenset(),
    "550": frozenset(),
    "570": frozenset(),
}

# ctypes argument types per emulated symbol, from its nvml.h prototype: pointers and handles are c_void_p,
# enums c_uint (an enum's size, and what nvidia-ml-py passes). The return type is always nvmlReturn_t (c_int).
_P = c_void_p
_ENUM = c_uint
SIGNATURES: dict[str, tuple[Any, ...]] = {
    "nvmlInitWithFlags": (c_uint,),
    "nvmlInit_v2": (),
    "nvmlShutdown": (),
    "nvmlSystemGetDriverVersion": (_P, c_uint),
    "nvmlSystemGetCudaDriverVersion": (_P,),
    "nvmlDeviceGetCount_v2": (_P,),
    "nvmlDeviceGetHandleByIndex_v2": (c_uint, _P),
    "nvmlDeviceGetIndex": (_P, _P),
    "nvmlDeviceGetUUID": (_P, _P, c_uint),
    "nvmlDeviceGetName": (_P, _P, c_uint),
    "nvmlDeviceGetPciInfo_v3": (_P, _P),
    "nvmlDeviceGetMemoryInfo": (_P, _P),
    "nvmlDeviceGetMemoryInfo_v2": (_P, _P),
    "nvmlDeviceGetUtilizationRates": (_P, _P),
    "nvmlDeviceGetSamples": (_P, _ENUM, c_ulonglong, _P, _P, _P),
    "nvmlDeviceGetTemperature": (_P, _ENUM, _P),
    "nvmlDeviceGetPowerUsage": (_P, _P),
    "nvmlDeviceGetEnforcedPowerLimit": (_P, _P),
    "nvmlDeviceGetMigMode": (_P, _P, _P),
    "nvmlDeviceGetCudaComputeCapability": (_P, _P, _P),
    "nvmlDeviceGetMaxMigDeviceCount": (_P, _P),
    "nvmlDeviceGetMigDeviceHandleByIndex": (_P, c_uint, _P),
    "nvmlDeviceGetGpuInstanceId": (_P, _P),
    "nvmlDeviceGetComputeInstanceId": (_P, _P),
    "nvmlDeviceIsMigDeviceHandle": (_P, _P),
    "nvmlDeviceGetDeviceHandleFromMigDeviceHandle": (_P, _P),
    "nvmlDeviceGetTotalEccErrors": (_P, _ENUM, _ENUM, _P),
    "nvmlDeviceGetRemappedRows": (_P, _P, _P, _P, _P),
    "nvmlDeviceGetCurrentClocksEventReasons": (_P, _P),
    "nvmlDeviceGetCurrentClocksThrottleReasons": (_P, _P),
    "nvmlEventSetCreate": (_P,),
    "nvmlDeviceRegisterEvents": (_P, c_ulonglong, _P),
    "nvmlEventSetWait_v2": (_P, _P, c_uint),
    "nvmlEventSetFree": (_P,),
}


# The structs written through pointers, as nvml.h lays them out (not pynvml's copies: a wrong wrapper shows).
class _Memory(ctypes.Structure):
    _fields_ = [("total", c_ulonglong), ("free", c_ulonglong), ("used", c_ulonglong)]


class _MemoryV2(ctypes.Structure):
    _fields_ = [
        ("version", c_uint),
        ("total", c_ulonglong),
        ("reserved", c_ulonglong),
        ("free", c_ulonglong),
        ("used", c_ulonglong),
    ]


class _Utilization(ctypes.Structure):
    _fields_ = [("gpu", c_uint), ("memory", c_uint)]


class _PciInfo(ctypes.Structure):
    _fields_ = [
        ("busIdLegacy", c_char * 16),
        ("domain", c_uint),
        ("bus", c_uint),
        ("device", c_uint),
        ("pciDeviceId", c_uint),
        ("pciSubSystemId", c_uint),
        ("busId", c_char * 32),
    ]


class _Sample(ctypes.Structure):
    _fields_ = [("timeStamp", c_ulonglong), ("value", c_ulonglong)]  # nvmlValue_t: a union of 8 bytes


class _EventData(ctypes.Structure):
    _fields_ = [
        ("device", c_void_p),
        ("eventType", c_ulonglong),
        ("eventData", c_ulonglong),
        ("gpuInstanceId", c_uint),
        ("computeInstanceId", c_uint),
    ]


def nvml_error_class(kind: str) -> ErrorClass:
    """`GpuIsLost` -> `pynvml.NVMLError_GpuIsLost` (pynvml builds one class per NVML return code)."""
    found = getattr(pynvml, f"NVMLError_{kind}", None)
    if not isinstance(found, type) or not issubclass(found, pynvml.NVMLError):
        raise ValueError(f"{kind!r} is not a pynvml error (NVMLError_<kind>)")
    return found


def nvml_error_code(error: int | ErrorClass | str) -> int:
    """The `nvmlReturn_t` of a code, a pynvml error class or its kind (`GpuIsLost`)."""
    if isinstance(error, int):
        return error
    cls = nvml_error_class(error) if isinstance(error, str) else error
    return int(cls().value)  # type: ignore[call-arg, attr-defined]


class _Failures(dict[tuple[str, "int | None"], "int | ErrorClass"]):
    """`fail`: only emulated symbols may be keyed, so a misspelt one cannot silently inject nothing."""

    def __setitem__(self, key: tuple[str, int | None], value: int | ErrorClass) -> None:
        if key[0] not in SIGNATURES:
            raise KeyError(f"{key[0]!r} is not an emulated libnvidia-ml symbol; known: {sorted(SIGNATURES)}")
        super().__setitem__(key, value)


class _Fail(Exception):
    """Internal: end the call with this return code."""

    def __init__(self, code: int) -> None:
        self.code = code


@dataclass
class _EventSet:
    gpus: set[int] = field(default_factory=set)
    events: queue.Queue[tuple[int, int, int, int]] = field(default_factory=queue.Queue)
    broken: bool = False


def _write(pointer: int | None, ctype: Any, value: int) -> None:
    if not pointer:
        raise _Fail(INVALID_ARGUMENT)
    ctype.from_address(pointer).value = value


def _write_string(pointer: int | None, length: int, text: str) -> None:
    data = text.encode() + b"\0"
    if not pointer:
        raise _Fail(INVALID_ARGUMENT)
    if len(data) > length:
        raise _Fail(INSUFFICIENT_SIZE)
    ctypes.memmove(pointer, data, len(data))


def _branch(driver_version: str | None) -> str:
    """`550.54.15` -> `550`; a release between branches takes the older branch's functions."""
    known = sorted(DRIVER_MISSING_SYMBOLS, key=int)
    try:
        major = int((driver_version or "").split(".")[0])
    except ValueError:
        return known[-1]
    older = [b for b in known if int(b) <= major]
    return older[-1] if older else known[0]


class FakeLibNvml:
    """An emulated libnvidia-ml answering from `state()`. `install()` puts it under pynvml (see module doc)."""

    def __init__(
        self,
        state: Callable[[], NodeSnapshot],
        *,
        samples: SampleSource | None = None,
        driver: str | None = None,
        privileged: bool = False,
    ) -> None:
        self._state = state
        self._samples = samples
        self._node = NodeSnapshot()
        self.privileged = privileged
        self.branch = driver if driver is not None else _branch(state().driver_version)
        if self.branch not in DRIVER_MISSING_SYMBOLS:
            raise ValueError(f"driver {self.branch!r}: emulated branches are {sorted(DRIVER_MISSING_SYMBOLS)}")
        self.fail = _Failures()
        self.init_error: int | ErrorClass | None = None
        self.refcount = 0
        self.inits = 0
        self.shutdowns = 0
        self.fail_waits = 0  # this many next waits answer Unknown
        self.crashes: list[str] = []  # tracebacks of emulation bugs (a test fixture asserts there are none)
        self._lock = threading.Lock()
        self._event_sets: dict[int, _EventSet] = {}
        self._next_event_set = _EVENT_SET_BASE
        self._functions = {
            name: CFUNCTYPE(c_int, *argtypes)(self._guarded(name, getattr(self, f"_{name}")))
            for name, argtypes in SIGNATURES.items()
            if name not in DRIVER_MISSING_SYMBOLS[self.branch]
        }
        self._previous: Any = None

    # -- the library as pynvml sees it ---------------------------------------------------------------------------

    def __getattr__(self, name: str) -> Any:
        # `getattr(nvmlLib, "nvmlX")` in pynvml: a missing symbol is AttributeError, which it maps to FunctionNotFound.
        functions = self.__dict__.get("_functions", {})
        if name in functions:
            return functions[name]
        raise AttributeError(name)

    def install(self) -> None:
        """Puts this library under pynvml (process-wide, as the real one is loaded once per process)."""
        with pynvml.libLoadLock:
            self._previous = pynvml.nvmlLib
            pynvml.nvmlLib = self
            pynvml._nvmlGetFunctionPointer_cache.clear()

    def uninstall(self) -> None:
        with pynvml.libLoadLock:
            if pynvml.nvmlLib is self:
                pynvml.nvmlLib = self._previous
                pynvml._nvmlGetFunctionPointer_cache.clear()

    @contextmanager
    def installed(self) -> Iterator[FakeLibNvml]:
        self.install()
        try:
            yield self
        finally:
            self.uninstall()

    def _guarded(self, name: str, impl: Callable[..., None]) -> Callable[..., int]:
        def call(*args: Any) -> int:
            try:
                if name not in ("nvmlInitWithFlags", "nvmlInit_v2") and self.refcount == 0:
                    return UNINITIALIZED
                self._inject(name, args)
                impl(*args)
                return SUCCESS
            except _Fail as failed:
                return failed.code
            except Exception:  # an emulation bug must not look like a driver answer: recorded, and Unknown
                self.crashes.append(traceback.format_exc())
                log.exception("emulated %s failed", name)
                return UNKNOWN

        return call

    def _inject(self, name: str, args: tuple[Any, ...]) -> None:
        index = None
        if args and SIGNATURES[name][0] is c_void_p and isinstance(args[0], int) and args[0] >= _HANDLE_BASE:
            index = (args[0] - _HANDLE_BASE) // _HANDLE_STRIDE if args[0] < _EVENT_SET_BASE else None
        elif name == "nvmlDeviceGetHandleByIndex_v2":
            index = args[0]
        error = self.fail.get((name, index)) if index is not None else None
        error = error if error is not None else self.fail.get((name, None))
        if error is not None:
            raise _Fail(nvml_error_code(error))

    # -- test and simulation controls -----------------------------------------------------------------------------

    def inject_xid(
        self, index: int, xid: int, gpu_instance: int | None = None, compute_instance: int | None = None
    ) -> None:
        """An XID on GPU `index` (on one MIG instance when the ids are given), delivered to every event set that
        registered the GPU; an instance's event reaches only a privileged caller (nvml.h, nvmlEventSetWait_v2)."""
        attributable = gpu_instance is not None
        if attributable and not self.privileged:
            return
        gi = NOT_ATTRIBUTABLE if gpu_instance is None else gpu_instance
        ci = NOT_ATTRIBUTABLE if compute_instance is None else compute_instance
        with self._lock:
            for event_set in self._event_sets.values():
                if index in event_set.gpus:
                    event_set.events.put((index, xid, gi, ci))

    def break_event_sets(self) -> None:
        """Every existing event set's wait fails from now on (a driver reset); new sets work."""
        with self._lock:
            for event_set in self._event_sets.values():
                event_set.broken = True

    @property
    def registered(self) -> set[int]:
        """GPU indexes registered on a live event set."""
        with self._lock:
            return {i for s in self._event_sets.values() if not s.broken for i in s.gpus}

    @property
    def live_event_sets(self) -> int:
        with self._lock:
            return len(self._event_sets)

    # -- handles -------------------------------------------------------------------------------------------------

    def _decode(self, handle: int | None) -> tuple[GpuSnapshot, MigSnapshot | None]:
        """The GPU (and MIG device) of a handle; a lost GPU answers GpuIsLost to every call."""
        if not handle or handle < _HANDLE_BASE or handle >= _EVENT_SET_BASE:
            raise _Fail(INVALID_ARGUMENT)
        index, rest = divmod(handle - _HANDLE_BASE, _HANDLE_STRIDE)
        if index >= len(self._node.gpus):
            raise _Fail(INVALID_ARGUMENT)
        gpu = self._node.gpus[index]
        if gpu.lost:
            raise _Fail(GPU_IS_LOST)
        if rest == 0:
            return gpu, None
        slot = rest - 1
        if not gpu.mig_enabled or slot >= len(gpu.mig_devices):
            raise _Fail(INVALID_ARGUMENT)
        return gpu, gpu.mig_devices[slot]

    def _gpu(self, handle: int | None) -> GpuSnapshot:
        """A GPU-only call: a MIG device handle is NotSupported."""
        gpu, mig = self._decode(handle)
        if mig is not None:
            raise _Fail(NOT_SUPPORTED)
        return gpu

    @staticmethod
    def _supported(value: Any) -> Any:
        if value is None:
            raise _Fail(NOT_SUPPORTED)
        return value

    # -- init / system ------------------------------------------------------------------------------------------

    def _nvmlInitWithFlags(self, flags: int) -> None:
        if self.init_error is not None:
            raise _Fail(nvml_error_code(self.init_error))
        node = self._state()
        if node.error is not None:
            raise _Fail(nvml_error_code(node.error))
        self._node = node  # the library enumerates the GPUs at init
        with self._lock:
            self.refcount += 1
            self.inits += 1

    def _nvmlInit_v2(self) -> None:
        self._nvmlInitWithFlags(0)

    def _nvmlShutdown(self) -> None:
        with self._lock:
            self.refcount -= 1
            self.shutdowns += 1
            if self.refcount == 0:  # the library's state goes with the last reference
                self._event_sets.clear()

    def _nvmlSystemGetDriverVersion(self, out: int, length: int) -> None:
        _write_string(out, length, self._supported(self._node.driver_version))

    def _nvmlSystemGetCudaDriverVersion(self, out: int) -> None:
        _write(out, c_int, self._supported(self._node.cuda_driver_version))

    def _nvmlDeviceGetCount_v2(self, out: int) -> None:
        self._node = self._state()
        if self._node.error is not None:
            raise _Fail(nvml_error_code(self._node.error))
        _write(out, c_uint, len(self._node.gpus))

    def _nvmlDeviceGetHandleByIndex_v2(self, index: int, out: int) -> None:
        if index >= len(self._node.gpus):
            raise _Fail(INVALID_ARGUMENT)
        if self._node.gpus[index].lost:
            raise _Fail(GPU_IS_LOST)
        _write(out, c_void_p, _HANDLE_BASE + index * _HANDLE_STRIDE)

    def _nvmlDeviceGetIndex(self, handle: int, out: int) -> None:
        _write(out, c_uint, self._gpu(handle).index)

    # -- identity ----------------------------------------------------------------------------------------------

    def _nvmlDeviceGetUUID(self, handle: int, out: int, length: int) -> None:
        gpu, mig = self._decode(handle)
        _write_string(out, length, mig.uuid if mig is not None else self._supported(gpu.uuid or None))

    def _nvmlDeviceGetName(self, handle: int, out: int, length: int) -> None:
        gpu, mig = self._decode(handle)
        name = self._supported(gpu.name or None)
        _write_string(out, length, f"{name} MIG {mig.profile}" if mig is not None else name)

    def _nvmlDeviceGetPciInfo_v3(self, handle: int, out: int) -> None:
        gpu = self._gpu(handle)
        if not out:
            raise _Fail(INVALID_ARGUMENT)
        bus_id = gpu.pci_bus_id or f"00000000:{gpu.index + 1:02X}:00.0"
        info = _PciInfo.from_address(out)
        info.busId = bus_id.encode()
        info.busIdLegacy = bus_id[4:].encode()
        info.bus = int(bus_id.split(":")[1], 16)
        info.pciDeviceId = 0x233010DE

    # -- memory and utilization -------------------------------------------------------------------------------

    def _memory(self, handle: int) -> tuple[int, int, int]:
        """(total, used without reserved, reserved) of a GPU or MIG device."""
        gpu, mig = self._decode(handle)
        if mig is not None:
            total = self._supported(mig.memory_total_bytes)
            return total, mig.memory_used_bytes or 0, mig.memory_reserved_bytes or 0
        if gpu.mig_enabled and not self.privileged:
            raise _Fail(NO_PERMISSION)  # nvml.h: a MIG parent's memory "only if the caller has appropriate privileges"
        total = self._supported(gpu.memory_total_bytes)
        return total, gpu.memory_used_bytes or 0, gpu.memory_reserved_bytes or 0

    def _nvmlDeviceGetMemoryInfo(self, handle: int, out: int) -> None:
        total, used, reserved = self._memory(handle)
        if not out:
            raise _Fail(INVALID_ARGUMENT)
        memory = _Memory.from_address(out)
        # v1 counts the reserved memory as used.
        memory.total, memory.used, memory.free = total, used + reserved, total - used - reserved

    def _nvmlDeviceGetMemoryInfo_v2(self, handle: int, out: int) -> None:
        if not out:
            raise _Fail(INVALID_ARGUMENT)
        memory = _MemoryV2.from_address(out)
        if memory.version != NVML_MEMORY_V2:
            raise _Fail(ARGUMENT_VERSION_MISMATCH)
        total, used, reserved = self._memory(handle)
        memory.total, memory.used, memory.reserved = total, used, reserved
        memory.free = total - used - reserved

    def _no_utilization_on_mig(self, handle: int) -> GpuSnapshot:
        gpu = self._gpu(handle)
        if gpu.mig_enabled:
            raise _Fail(NOT_SUPPORTED)
        return gpu

    def _nvmlDeviceGetUtilizationRates(self, handle: int, out: int) -> None:
        gpu = self._no_utilization_on_mig(handle)
        value = self._supported(gpu.utilization_gpu_percent)
        if not out:
            raise _Fail(INVALID_ARGUMENT)
        utilization = _Utilization.from_address(out)
        utilization.gpu, utilization.memory = value, gpu.utilization_memory_percent or 0

    def _nvmlDeviceGetSamples(
        self, handle: int, kind: int, last_seen: int, value_type: int, count: int, out: int | None
    ) -> None:
        """As NVML: called once without a buffer for the count, then with one; NotFound when nothing is new."""
        gpu = self._no_utilization_on_mig(handle)
        if self._samples is None or kind != GPU_UTILIZATION_SAMPLES:
            raise _Fail(NOT_SUPPORTED)
        found = self._samples(gpu.index, last_seen)
        if not found:
            raise _Fail(NOT_FOUND)
        _write(value_type, c_int, VALUE_TYPE_UNSIGNED_INT)
        if not out:
            _write(count, c_uint, len(found))
            return
        room = c_uint.from_address(count).value
        found = found[:room]
        samples = (_Sample * len(found)).from_address(out)
        for sample, (stamp, value) in zip(samples, found):
            sample.timeStamp, sample.value = stamp, value
        _write(count, c_uint, len(found))

    # -- sensors, MIG, reliability ----------------------------------------------------------------------------

    def _nvmlDeviceGetTemperature(self, handle: int, sensor: int, out: int) -> None:
        if sensor != TEMPERATURE_GPU:
            raise _Fail(INVALID_ARGUMENT)
        _write(out, c_uint, self._supported(self._gpu(handle).temperature_celsius))

    def _nvmlDeviceGetPowerUsage(self, handle: int, out: int) -> None:
        _write(out, c_uint, round(self._supported(self._gpu(handle).power_watts) * 1000))

    def _nvmlDeviceGetEnforcedPowerLimit(self, handle: int, out: int) -> None:
        _write(out, c_uint, round(self._supported(self._gpu(handle).power_limit_watts) * 1000))

    def _nvmlDeviceGetMigMode(self, handle: int, current: int, pending: int) -> None:
        gpu = self._gpu(handle)
        if not gpu.mig_capable:
            raise _Fail(NOT_SUPPORTED)
        _write(current, c_uint, int(bool(gpu.mig_enabled)))
        _write(pending, c_uint, int(bool(gpu.mig_enabled)))

    def _nvmlDeviceGetCudaComputeCapability(self, handle: int, major: int, minor: int) -> None:
        capability = self._supported(self._gpu(handle).compute_capability)
        _write(major, c_int, capability[0])
        _write(minor, c_int, capability[1])

    def _nvmlDeviceGetMaxMigDeviceCount(self, handle: int, out: int) -> None:
        if not self._gpu(handle).mig_capable:
            raise _Fail(NOT_SUPPORTED)
        _write(out, c_uint, MAX_MIG_DEVICES)

    def _nvmlDeviceGetMigDeviceHandleByIndex(self, handle: int, slot: int, out: int) -> None:
        gpu = self._gpu(handle)
        if slot >= MAX_MIG_DEVICES:
            raise _Fail(INVALID_ARGUMENT)
        if not gpu.mig_enabled or slot >= len(gpu.mig_devices):
            raise _Fail(NOT_FOUND)
        _write(out, c_void_p, handle + 1 + slot)

    def _mig(self, handle: int) -> MigSnapshot:
        _, mig = self._decode(handle)
        if mig is None:
            raise _Fail(NOT_SUPPORTED)  # not a MIG device handle
        return mig

    def _nvmlDeviceGetGpuInstanceId(self, handle: int, out: int) -> None:
        _write(out, c_uint, self._mig(handle).gpu_instance_id)

    def _nvmlDeviceGetComputeInstanceId(self, handle: int, out: int) -> None:
        _write(out, c_uint, self._mig(handle).compute_instance_id)

    def _nvmlDeviceIsMigDeviceHandle(self, handle: int, out: int) -> None:
        _, mig = self._decode(handle)
        _write(out, c_uint, int(mig is not None))

    def _nvmlDeviceGetDeviceHandleFromMigDeviceHandle(self, handle: int, out: int) -> None:
        gpu = self._decode(handle)[0]
        self._mig(handle)
        _write(out, c_void_p, _HANDLE_BASE + gpu.index * _HANDLE_STRIDE)

    def _nvmlDeviceGetTotalEccErrors(self, handle: int, error_type: int, counter: int, out: int) -> None:
        gpu = self._gpu(handle)
        scope = {0: "volatile", 1: "aggregate"}.get(counter)
        kind = {0: "corrected", 1: "uncorrected"}.get(error_type)
        if scope is None or kind is None:
            raise _Fail(INVALID_ARGUMENT)
        _write(out, c_ulonglong, self._supported(dict(gpu.ecc_errors).get((scope, kind))))

    def _nvmlDeviceGetRemappedRows(self, handle: int, corr: int, unc: int, pending: int, failed: int) -> None:
        gpu = self._gpu(handle)
        _write(corr, c_uint, self._supported(gpu.remapped_rows_correctable))
        _write(unc, c_uint, gpu.remapped_rows_uncorrectable or 0)
        _write(pending, c_uint, int(bool(gpu.row_remap_pending)))
        _write(failed, c_uint, int(bool(gpu.row_remap_failed)))

    def _nvmlDeviceGetCurrentClocksEventReasons(self, handle: int, out: int) -> None:
        _write(out, c_ulonglong, self._supported(self._gpu(handle).clocks_event_reasons))

    def _nvmlDeviceGetCurrentClocksThrottleReasons(self, handle: int, out: int) -> None:
        self._nvmlDeviceGetCurrentClocksEventReasons(handle, out)  # the old name of the same call

    # -- events ------------------------------------------------------------------------------------------------

    def _nvmlEventSetCreate(self, out: int) -> None:
        with self._lock:
            self._next_event_set += 1
            self._event_sets[self._next_event_set] = _EventSet()
            _write(out, c_void_p, self._next_event_set)

    def _event_set(self, handle: int | None) -> _EventSet:
        found = self._event_sets.get(handle or 0)
        if found is None:
            raise _Fail(INVALID_ARGUMENT)
        return found

    def _nvmlDeviceRegisterEvents(self, handle: int, types: int, event_set: int) -> None:
        gpu = self._gpu(handle)  # per-instance registration with a MIG handle is not supported (nvml.h)
        with self._lock:
            self._event_set(event_set).gpus.add(gpu.index)

    def _nvmlEventSetWait_v2(self, event_set: int, out: int, timeout_ms: int) -> None:
        with self._lock:
            found = self._event_set(event_set)
            if found.broken or self.fail_waits > 0:
                self.fail_waits = max(self.fail_waits - 1, 0)
                raise _Fail(UNKNOWN)
        try:
            # At most 0.1 s, so a stopping watcher is not held for the real timeout (tests open many readers).
            index, xid, gi, ci = found.events.get(timeout=min(timeout_ms, 100) / 1000)
        except queue.Empty:
            raise _Fail(TIMEOUT) from None
        if not out:
            raise _Fail(INVALID_ARGUMENT)
        data = _EventData.from_address(out)
        data.device = _HANDLE_BASE + index * _HANDLE_STRIDE
        data.eventType, data.eventData = XID_CRITICAL_ERROR, xid
        data.gpuInstanceId, data.computeInstanceId = gi, ci

    def _nvmlEventSetFree(self, event_set: int) -> None:
        with self._lock:
            self._event_set(event_set)
            del self._event_sets[event_set]
