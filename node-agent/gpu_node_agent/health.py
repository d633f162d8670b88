"""Node GPU health, and why: pure, from this cycle's snapshot and how many cycles in a row have failed.

As the device plugin does, a lost GPU (`NVMLError_GpuIsLost`, or no handle for it) and a critical XID event (any
XID but the application ones the plugin skips) are fatal at once; a critical XID stays fatal until the agent
restarts, as a device the plugin marked unhealthy stays so until the plugin restarts. Anything
else that fails a read (`Unknown`, `Timeout`, `NoPermission`, a driver being reloaded) degrades the node only
once it has lasted `READ_FAILURE_CYCLES` cycles in a row: one bad cycle is noise, three are a problem.
"""

from __future__ import annotations

from dataclasses import dataclass

from .snapshot import NodeSnapshot

__all__ = [
    "DRIVER_NOT_LOADED",
    "GPU_LOST",
    "LIBRARY_NOT_FOUND",
    "NO_GPUS",
    "OK",
    "READ_FAILING",
    "XID_CRITICAL",
    "critical_xid",
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
    """`reason` is `ok` when healthy, else the first cause found."""

    reason: str = OK

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


def assess(snapshot: NodeSnapshot, failed_cycles: int, threshold: int = READ_FAILURE_CYCLES) -> NodeHealth:
    """`failed_cycles`: consecutive cycles up to and including this one whose read met an error."""
    if snapshot.error is None:
        if any(g.lost for g in snapshot.gpus):
            return NodeHealth(GPU_LOST)
        if any(critical_xid(xid) for g in snapshot.gpus for xid, _ in g.xid_counts):
            return NodeHealth(XID_CRITICAL)
        if not snapshot.gpus:
            return NodeHealth(NO_GPUS)  # NVML answered, but shows no GPU on a GPU node
    if failed_cycles < threshold:
        return NodeHealth(OK)
    if snapshot.error is not None:
        return NodeHealth(_NODE_ERROR_REASONS.get(snapshot.error, READ_FAILING))
    return NodeHealth(READ_FAILING)
