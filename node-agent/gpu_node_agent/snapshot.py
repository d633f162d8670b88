"""What one collection cycle saw: frozen data, read once, reasoned about everywhere else."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["GpuSnapshot", "MigSnapshot", "NodeSnapshot"]


@dataclass(frozen=True)
class MigSnapshot:
    """One MIG device (a GPU instance with its compute instance) of a MIG-enabled GPU."""

    gpu_instance_id: int
    compute_instance_id: int
    profile: str  # `1g.10gb`, as GFD and dcgm-exporter's GPU_I_PROFILE write it
    uuid: str = ""
    memory_total_bytes: int | None = None
    memory_used_bytes: int | None = None
    memory_free_bytes: int | None = None
    memory_reserved_bytes: int | None = None
    # XID events attributed to this instance (the event's GPU and compute instance ids): ((xid, count), ...).
    xid_counts: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class GpuSnapshot:
    """One GPU as read in one cycle. `None` means the fact could not be read (not supported, or an error)."""

    index: int
    uuid: str = ""
    name: str = ""
    pci_bus_id: str = ""  # `00000000:3B:00.0`
    memory_total_bytes: int | None = None
    memory_used_bytes: int | None = None
    memory_free_bytes: int | None = None
    memory_reserved_bytes: int | None = None
    utilization_gpu_percent: int | None = None
    utilization_memory_percent: int | None = None
    # Mean of NVML's utilization samples since the previous read (`nvmlDeviceGetSamples`); None without them.
    utilization_sampled_percent: float | None = None
    temperature_celsius: int | None = None
    power_watts: float | None = None
    power_limit_watts: float | None = None  # the enforced limit
    # ECC error counters: ((scope, type), count), scope `volatile` (since the driver loaded) or `aggregate`
    # (lifetime), type `corrected` or `uncorrected`. Empty when ECC is off or not supported.
    ecc_errors: tuple[tuple[tuple[str, str], int], ...] = ()
    remapped_rows_correctable: int | None = None
    remapped_rows_uncorrectable: int | None = None
    row_remap_pending: bool | None = None
    row_remap_failed: bool | None = None
    # `nvmlDeviceGetCurrentClocksEventReasons` bitmask (why clocks are held down: power cap, thermal, ...).
    clocks_event_reasons: int | None = None
    # XID events seen by the event thread since the agent started: ((xid, count), ...), cumulative. Only events
    # affecting the whole GPU; those of one MIG instance are on its `MigSnapshot`.
    xid_counts: tuple[tuple[int, int], ...] = ()
    mig_enabled: bool | None = None
    mig_capable: bool | None = None
    mig_devices: tuple[MigSnapshot, ...] = ()  # read only when MIG is enabled
    compute_capability: tuple[int, int] | None = None
    # The GPU is lost or every read of it failed; its facts are not to be trusted.
    lost: bool = False
    # pynvml error class names met while reading this GPU (not-supported calls are not errors).
    errors: tuple[str, ...] = ()

    @property
    def healthy(self) -> bool:
        return not self.lost and not self.errors


@dataclass(frozen=True)
class NodeSnapshot:
    """Every GPU of the node plus node-wide facts. `error` is set when NVML could not be read at all."""

    gpus: tuple[GpuSnapshot, ...] = ()
    driver_version: str | None = None
    cuda_driver_version: int | None = None  # NVML's integer form: 12040 is CUDA 12.4
    error: str | None = None
    # Node-wide errors (pynvml class names) that did not stop the read.
    errors: tuple[str, ...] = field(default=())
    # XID events whose GPU could not be told (neither index nor UUID readable): ((xid, count), ...). As the device
    # plugin does, they count against every GPU of the node.
    unattributed_xid_counts: tuple[tuple[int, int], ...] = ()

    @property
    def healthy(self) -> bool:
        return self.error is None and bool(self.gpus) and all(g.healthy for g in self.gpus)

    def error_kinds(self) -> tuple[str, ...]:
        """Every error met in this cycle, node-wide and per GPU, for the metrics."""
        kinds = list(self.errors) + ([self.error] if self.error else [])
        for gpu in self.gpus:
            kinds.extend(gpu.errors)
        return tuple(kinds)
