"""Node GPU health, and why: pure, from this cycle's snapshot and how many cycles in a row have failed.

A lost GPU (`NVMLError_GpuIsLost`) degrades the node at once. A critical XID event (any XID but the application
ones the device plugin skips) marks one device unhealthy, as the plugin does: the GPU it names, all of that GPU's
MIG devices when the event concerns the whole GPU, one MIG device when it carries that instance's ids, and every
device when its GPU could not be told. The node degrades (`xid-critical`) only when no healthy device is left;
until then `unhealthy_devices` lists them (the `gpu.unhealthy-devices` label counts them). A critical XID
stays until the agent restarts, as a device the plugin marked unhealthy stays so until the plugin restarts. Anything
else that fails a read (`Unknown`, `Timeout`, `NoPermission`, a driver being reloaded) degrades the node only
once it has lasted `READ_FAILURE_CYCLES` cycles in a row: one bad cycle is noise, three are a problem.
"""

from __future__ import annotations

from dataclasses import dataclass

from .snapshot import GpuSnapshot, NodeSnapshot

__all__ = [
    "DRIVER_NOT_LOADED",
    "GPU_LOST",
    "LIBRARY_NOT_FOUND",
    "NO_GPUS",
    "OK",
    "READ_FAILING",
    "XID_CRITICAL",
    "critical_xid",
    "unhealthy_devices",
    "READ_FAILURE_CYCLES",
    "NodeHealth",
    "assess",
    "read_failed",
]

# Consecutive failed cycles before a non-fatal read failure marks the node degraded (45 s at the 15 s default).
READ_FAILURE_CYCLES = 3

# Reasons: valid Kubernetes label values, so they can be both a label and a metric label.
OK = "ok"
GPU_LOST = "gpu-lost"
NO_GPUS = "no-gpus"
DRIVER_NOT_LOADED = "driver-not-loaded"
LIBRARY_NOT_FOUND = "library-not-found"
READ_FAILING = "read-failing"
XID_CRITICAL = "xid-critical"

# XIDs an application causes (illegal address, page fault, reset channel, ...): the device plugin skips them.
APPLICATION_XIDS = frozenset({13, 31, 43, 45, 68, 109})


def critical_xid(xid: int) -> bool:
    return xid not in APPLICATION_XIDS

# A node-wide NVML error (pynvml class name without `NVMLError_`) with a reason of its own.
_NODE_ERROR_REASONS = {"DriverNotLoaded": DRIVER_NOT_LOADED, "LibraryNotFound": LIBRARY_NOT_FOUND}


@dataclass(frozen=True)
class NodeHealth:
    """`reason` is `ok` when healthy, else the first cause found. `unhealthy_devices`: the ids (GPU or MIG device
    UUIDs, as the device plugin names devices) a critical XID took out, also while the node is still ok."""

    reason: str = OK
    unhealthy_devices: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.reason == OK

    @property
    def value(self) -> str:
        """The `gpu.health` label value."""
        return "ok" if self.ok else "degraded"


def read_failed(snapshot: NodeSnapshot) -> bool:
    """Whether this cycle's read met any error (not-supported calls are not errors)."""
    return bool(snapshot.error_kinds())


def _critical(counts: tuple[tuple[int, int], ...]) -> bool:
    return any(critical_xid(xid) for xid, _ in counts)


def _gpu_devices(gpu: GpuSnapshot) -> list[tuple[str, bool]]:
    """(device id, hit by a critical XID) for each device the plugin would offer from `gpu`."""
    whole = _critical(gpu.xid_counts)
    if gpu.mig_enabled and gpu.mig_devices:
        return [(m.uuid or f"gpu{gpu.index}-mig{m.gpu_instance_id}", whole or _critical(m.xid_counts))
                for m in gpu.mig_devices]
    return [(gpu.uuid or f"gpu{gpu.index}", whole)]


def unhealthy_devices(snapshot: NodeSnapshot) -> tuple[tuple[str, ...], int]:
    """(ids of the devices a critical XID took out, number of devices)."""
    devices = [device for gpu in snapshot.gpus if not gpu.lost for device in _gpu_devices(gpu)]
    everyone = _critical(snapshot.unattributed_xid_counts)
    return tuple(d for d, hit in devices if hit or everyone), len(devices)


def assess(snapshot: NodeSnapshot, failed_cycles: int, threshold: int = READ_FAILURE_CYCLES) -> NodeHealth:
    """`failed_cycles`: consecutive cycles up to and including this one whose read met an error."""
    unhealthy: tuple[str, ...] = ()
    if snapshot.error is None:
        if any(g.lost for g in snapshot.gpus):
            return NodeHealth(GPU_LOST)
        unhealthy, total = unhealthy_devices(snapshot)
        if unhealthy and len(unhealthy) == total:
            return NodeHealth(XID_CRITICAL, unhealthy)
        if not snapshot.gpus:
            return NodeHealth(NO_GPUS)  # NVML answered, but shows no GPU on a GPU node
    if failed_cycles < threshold:
        return NodeHealth(OK, unhealthy)
    if snapshot.error is not None:
        return NodeHealth(_NODE_ERROR_REASONS.get(snapshot.error, READ_FAILING))
    return NodeHealth(READ_FAILING, unhealthy)
