"""The emulated libnvidia-ml itself: its symbols match nvml.h, its driver matrix matches nvml.h's history, and it
is as strict as the library where the agent has been caught out (privileges, MIG, refcounts, events)."""

from __future__ import annotations

import ctypes
import json
import re
from pathlib import Path

import pynvml
import pytest
from emulated import emulate
from snapshot_builders import MIB, gpu, node

from gpu_node_agent.fakenvml import DRIVER_MISSING_SYMBOLS, SIGNATURES, FakeLibNvml
from gpu_node_agent.snapshot import MigSnapshot

DATA = Path(__file__).parent / "data"
_PROTOTYPE = re.compile(r"nvmlReturn_t DECLDIR (\w+)\((.*)\);")
# nvml.h's opaque handle typedefs (pointers) and enums, as ctypes passes them.
_HANDLES = {"nvmlDevice_t", "nvmlEventSet_t"}
_SCALARS = {"unsigned int": ctypes.c_uint, "int": ctypes.c_int, "unsigned long long": ctypes.c_ulonglong}


def _ctype(parameter: str) -> object:
    words = parameter.replace("*", " * ").split()
    if "*" in words or words[0] in _HANDLES:
        return ctypes.c_void_p
    type_name = " ".join(words[:-1]).removeprefix("const ")
    if type_name in _SCALARS:
        return _SCALARS[type_name]
    assert re.fullmatch(r"nvml\w+_t", type_name), f"unmapped C type {type_name!r}"
    return ctypes.c_uint  # an enum


def _prototypes() -> dict[str, tuple[object, ...]]:
    found = {}
    for line in (DATA / "nvml_prototypes.h").read_text().splitlines():
        match = _PROTOTYPE.fullmatch(line)
        if match:
            params = [] if match.group(2) == "void" else match.group(2).split(",")
            found[match.group(1)] = tuple(_ctype(p) for p in params)
    return found


def test_every_emulated_symbol_has_the_prototype_of_nvml_h() -> None:
    prototypes = _prototypes()
    assert set(SIGNATURES) == set(prototypes)
    for name, argtypes in SIGNATURES.items():
        assert argtypes == prototypes[name], name


def test_the_driver_matrix_is_nvml_h_of_each_branch() -> None:
    vendored = json.loads((DATA / "nvml_driver_symbols.json").read_text())["drivers"]
    assert {branch: frozenset(entry["missing"]) for branch, entry in vendored.items()} == DRIVER_MISSING_SYMBOLS


def test_the_structs_written_agree_with_nvidia_ml_py() -> None:
    from gpu_node_agent import fakenvml

    for ours, theirs in (
        (fakenvml._Memory, pynvml.c_nvmlMemory_t),
        (fakenvml._MemoryV2, pynvml.c_nvmlMemory_v2_t),
        (fakenvml._Utilization, pynvml.c_nvmlUtilization_t),
        (fakenvml._PciInfo, pynvml.nvmlPciInfo_t),
        (fakenvml._Sample, pynvml.c_nvmlSample_t),
        (fakenvml._EventData, pynvml.c_nvmlEventData_t),
    ):
        assert ctypes.sizeof(ours) == ctypes.sizeof(theirs), theirs.__name__
    assert fakenvml.NVML_MEMORY_V2 == pynvml.nvmlMemory_v2


def test_a_misspelt_injection_is_refused() -> None:
    with pytest.raises(KeyError, match="nvmlDeviceGetCount.*not an emulated"):
        FakeLibNvml(lambda: node(gpu())).fail[("nvmlDeviceGetCount", None)] = pynvml.NVMLError_Unknown


def test_init_is_refcounted_and_every_call_needs_it() -> None:
    lib = emulate(node(gpu()))
    with pytest.raises(pynvml.NVMLError_Uninitialized):
        pynvml.nvmlDeviceGetCount()
    pynvml.nvmlInit()
    pynvml.nvmlInit()
    pynvml.nvmlShutdown()
    assert pynvml.nvmlDeviceGetCount() == 1 and lib.refcount == 1
    pynvml.nvmlShutdown()
    with pytest.raises(pynvml.NVMLError_Uninitialized):
        pynvml.nvmlDeviceGetCount()


def test_strings_structs_and_bus_ids_come_through_the_real_wrappers() -> None:
    emulate(node(gpu(0, pci_bus_id="00000000:3B:00.0")))
    pynvml.nvmlInit()
    try:
        handle = pynvml.nvmlDeviceGetHandleByIndex(0)
        assert pynvml.nvmlDeviceGetName(handle) == "NVIDIA H100 80GB HBM3"  # str: the wrapper decodes
        # A C char array, which this nvidia-ml-py decodes (older ones gave bytes; the agent takes either).
        assert pynvml.nvmlDeviceGetPciInfo(handle).busId == "00000000:3B:00.0"
        with pytest.raises(pynvml.NVMLError_InvalidArgument):
            pynvml.nvmlDeviceGetHandleByIndex(1)
    finally:
        pynvml.nvmlShutdown()


@pytest.mark.parametrize("privileged", [False, True])
def test_a_mig_parent_s_memory_needs_privileges_and_has_no_utilization(privileged: bool) -> None:
    mig = MigSnapshot(1, 0, "1g.10gb", "MIG-1", memory_total_bytes=9856 * MIB, memory_used_bytes=0)
    emulate(node(gpu(0, mig_enabled=True, mig_devices=(mig,))), privileged=privileged)
    pynvml.nvmlInit()
    try:
        handle = pynvml.nvmlDeviceGetHandleByIndex(0)
        if privileged:
            assert pynvml.nvmlDeviceGetMemoryInfo(handle).total == 81559 * MIB
        else:
            with pytest.raises(pynvml.NVMLError_NoPermission):
                pynvml.nvmlDeviceGetMemoryInfo(handle)
        with pytest.raises(pynvml.NVMLError_NotSupported):
            pynvml.nvmlDeviceGetUtilizationRates(handle)
        device = pynvml.nvmlDeviceGetMigDeviceHandleByIndex(handle, 0)
        assert pynvml.nvmlDeviceGetMemoryInfo(device).total == 9856 * MIB  # the instance's own: always readable
        assert pynvml.nvmlDeviceGetGpuInstanceId(device) == 1
    finally:
        pynvml.nvmlShutdown()


@pytest.mark.parametrize("privileged", [False, True])
def test_events_carry_instance_ids_and_reach_only_a_privileged_caller(privileged: bool) -> None:
    lib = emulate(node(gpu(0)), privileged=privileged)
    pynvml.nvmlInit()
    try:
        handle = pynvml.nvmlDeviceGetHandleByIndex(0)
        events = pynvml.nvmlEventSetCreate()
        pynvml.nvmlDeviceRegisterEvents(handle, pynvml.nvmlEventTypeXidCriticalError, events)
        lib.inject_xid(0, 94, gpu_instance=2, compute_instance=0)
        lib.inject_xid(0, 79)
        seen = []
        for _ in range(2 if privileged else 1):
            data = pynvml.nvmlEventSetWait_v2(events, 100)
            seen.append((data.eventData, data.gpuInstanceId, data.computeInstanceId))
        with pytest.raises(pynvml.NVMLError_Timeout):
            pynvml.nvmlEventSetWait_v2(events, 10)
        whole = (79, 0xFFFFFFFF, 0xFFFFFFFF)
        assert seen == ([(94, 2, 0), whole] if privileged else [whole])
        lib.break_event_sets()
        with pytest.raises(pynvml.NVMLError_Unknown):
            pynvml.nvmlEventSetWait_v2(events, 10)
        pynvml.nvmlEventSetFree(events)
    finally:
        pynvml.nvmlShutdown()


def test_a_function_missing_on_an_older_driver_is_function_not_found() -> None:
    emulate(node(gpu(0, clocks_event_reasons=4), driver="525.147.05"))
    pynvml.nvmlInit()
    try:
        handle = pynvml.nvmlDeviceGetHandleByIndex(0)
        with pytest.raises(pynvml.NVMLError_FunctionNotFound):
            pynvml.nvmlDeviceGetCurrentClocksEventReasons(handle)
        assert pynvml.nvmlDeviceGetCurrentClocksThrottleReasons(handle) == 4
    finally:
        pynvml.nvmlShutdown()
