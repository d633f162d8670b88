"""Prometheus metrics: a stateless collector that builds fresh families from the latest `AgentView`.

Names and labels are fixed by docs/node-agent.md (Metrics): Prometheus base units (bytes, watts, celsius, 0-1
ratios), and per-GPU labels an operator can join with dcgm-exporter dashboards (`gpu`, `UUID`, `pci_bus_id`,
`device`, `modelName`, `Hostname`) plus `node` for kube-state-metrics. Nothing registers on import; the caller
passes the registry (and adds prometheus_client's process collector for `process_*`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

import pynvml
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from . import __version__
from .podresources import PodRef
from .snapshot import GpuSnapshot
from .state import AgentView

__all__ = ["GPU_LABELS", "POD_LABELS", "AgentCollector", "gpu_label_values"]

# uuid, model and pci_bus_id outlive a failed read (history.ReadHistory), so a series keeps its identity.
GPU_LABELS = ["gpu", "UUID", "pci_bus_id", "device", "modelName", "Hostname", "node"]
# `--pod-resources`: added to a device's series only while a container holds it, as dcgm-exporter does; an
# unallocated GPU's series carry none (Prometheus reads an absent label and an empty one alike).
POD_LABELS = ["pod", "namespace", "container"]


def _ratio(percent: int | None) -> float | None:
    return None if percent is None else percent / 100.0


_GPU_GAUGES: tuple[tuple[str, str, Callable[[GpuSnapshot], float | None]], ...] = (
    ("gpu_node_agent_gpu_memory_used_bytes", "GPU framebuffer memory used.", lambda g: g.memory_used_bytes),
    ("gpu_node_agent_gpu_memory_free_bytes", "GPU framebuffer memory free.", lambda g: g.memory_free_bytes),
    ("gpu_node_agent_gpu_memory_total_bytes", "GPU framebuffer memory total.", lambda g: g.memory_total_bytes),
    (
        "gpu_node_agent_gpu_memory_reserved_bytes",
        "GPU framebuffer memory reserved by the driver (NVML memory info v2).",
        lambda g: g.memory_reserved_bytes,
    ),
    (
        "gpu_node_agent_gpu_utilization_ratio",
        "GPU utilization, 0-1: share of the last sample period a kernel ran.",
        lambda g: _ratio(g.utilization_gpu_percent),
    ),
    (
        "gpu_node_agent_gpu_memory_utilization_ratio",
        "GPU memory controller busy, 0-1.",
        lambda g: _ratio(g.utilization_memory_percent),
    ),
    ("gpu_node_agent_gpu_temperature_celsius", "GPU temperature.", lambda g: g.temperature_celsius),
    ("gpu_node_agent_gpu_power_watts", "GPU power draw.", lambda g: g.power_watts),
    ("gpu_node_agent_gpu_power_limit_watts", "GPU enforced power limit.", lambda g: g.power_limit_watts),
    ("gpu_node_agent_gpu_healthy", "1 when the GPU read cleanly in the last cycle.", lambda g: float(g.healthy)),
)


# Clock event (throttle) reasons worth an alert, by the metric's `reason` label.
CLOCK_EVENT_REASONS: tuple[tuple[str, int], ...] = (
    ("sw_power_cap", pynvml.nvmlClocksEventReasonSwPowerCap),
    ("hw_slowdown", pynvml.nvmlClocksEventReasonHwSlowdown),
    ("hw_thermal_slowdown", pynvml.nvmlClocksEventReasonHwThermalSlowdown),
    ("hw_power_brake_slowdown", pynvml.nvmlClocksEventReasonHwPowerBrakeSlowdown),
    ("sw_thermal_slowdown", pynvml.nvmlClocksEventReasonSwThermalSlowdown),
    ("sync_boost", pynvml.nvmlClocksEventReasonSyncBoost),
)


def gpu_label_values(gpu: GpuSnapshot, node: str) -> list[str]:
    """Values for `GPU_LABELS`: dcgm-exporter's `Hostname` is the node name here, as the DaemonSet sets it."""
    return [str(gpu.index), gpu.uuid, gpu.pci_bus_id, f"nvidia{gpu.index}", gpu.name, node, node]


def _pod_labels(uuid: str, owners: Mapping[str, PodRef] | None) -> dict[str, str]:
    owner = owners.get(uuid) if owners and uuid else None
    return {} if owner is None else {"pod": owner.pod, "namespace": owner.namespace, "container": owner.container}


def _gpu_labels(gpu: GpuSnapshot, node: str, owners: Mapping[str, PodRef] | None) -> dict[str, str]:
    return {**dict(zip(GPU_LABELS, gpu_label_values(gpu, node))), **_pod_labels(gpu.uuid, owners)}


def _add(family: Metric, labels: Mapping[str, str], value: float) -> None:
    """A sample with its own label set, so pod labels can be on one GPU's series and not another's."""
    name = f"{family.name}_total" if family.type == "counter" else family.name
    family.add_sample(name, dict(labels), float(value))


class AgentCollector(Collector):
    def __init__(self, view: Callable[[], AgentView], version: str = __version__) -> None:
        self._view = view
        self._version = version

    def collect(self) -> Iterator[Metric]:
        view = self._view()
        yield from self._node_families(view)
        gpus = view.snapshot.gpus if view.snapshot else ()
        families = [GaugeMetricFamily(name, doc, labels=GPU_LABELS) for name, doc, _ in _GPU_GAUGES]
        for gpu in gpus:
            labels = _gpu_labels(gpu, view.node, view.gpu_pods)
            for family, (_, _, read) in zip(families, _GPU_GAUGES):
                value = read(gpu)
                if value is not None:
                    _add(family, labels, value)
            _add_mig_samples(families, gpu, dict(zip(GPU_LABELS, gpu_label_values(gpu, view.node))), view.gpu_pods)
        yield from families
        yield from _reliability_families(gpus, view.node, view.gpu_pods)
        if view.gpu_pods is not None:
            yield from _pod_resources_families(view)

    def _node_families(self, view: AgentView) -> Iterator[Metric]:
        node = [view.node]
        build = GaugeMetricFamily(
            "gpu_node_agent_build_info", "The agent's version; always 1.", labels=["node", "version"]
        )
        build.add_metric([view.node, self._version], 1.0)
        yield build
        up = GaugeMetricFamily("gpu_node_agent_up", "1 when the last cycle read NVML.", labels=["node"])
        up.add_metric(node, float(view.snapshot is not None and view.snapshot.error is None))
        yield up
        if view.health is not None:
            health = GaugeMetricFamily(
                "gpu_node_agent_node_healthy",
                "1 when the node's GPUs are healthy; `reason` says why not (gpu-lost, read-failing, ...).",
                labels=["node", "reason"],
            )
            health.add_metric([view.node, view.health.reason], float(view.health.ok))
            yield health
        gauges = (
            (
                "gpu_node_agent_collection_duration_seconds",
                "Time the last NVML collection took.",
                view.collection_seconds,
            ),
            (
                "gpu_node_agent_last_successful_cycle_timestamp_seconds",
                "Unix time of the last cycle that read NVML.",
                view.last_success_time,
            ),
            (
                "gpu_node_agent_last_label_write_timestamp_seconds",
                "Unix time labels were last written.",
                view.last_write_time,
            ),
        )
        for name, doc, value in gauges:
            if value is not None:
                family = GaugeMetricFamily(name, doc, labels=["node"])
                family.add_metric(node, value)
                yield family
        errors = CounterMetricFamily("gpu_node_agent_nvml_errors", "NVML errors by kind.", labels=["node", "kind"])
        for kind, count in sorted(view.nvml_errors.items()):
            errors.add_metric([view.node, kind], count)
        yield errors
        for name, doc, count in (
            ("gpu_node_agent_label_writes", "Node label patches sent.", view.label_writes),
            (
                "gpu_node_agent_label_write_failures",
                "Label syncs that failed after every retry.",
                view.label_write_failures,
            ),
        ):
            counter = CounterMetricFamily(name, doc, labels=["node"])
            counter.add_metric(node, count)
            yield counter


# What NVML reads per MIG device; the families' other gauges (utilization, power, ...) are the whole GPU's.
_MIG_GAUGES = {
    "gpu_node_agent_gpu_memory_used_bytes": "memory_used_bytes",
    "gpu_node_agent_gpu_memory_free_bytes": "memory_free_bytes",
    "gpu_node_agent_gpu_memory_total_bytes": "memory_total_bytes",
}


def _add_mig_samples(
    families: list[GaugeMetricFamily],
    gpu: GpuSnapshot,
    labels: dict[str, str],
    owners: Mapping[str, PodRef] | None,
) -> None:
    """Per MIG device: the GPU's labels plus dcgm-exporter's `GPU_I_PROFILE` and `GPU_I_ID`, and the pod that
    holds this MIG device (by its MIG UUID) with `--pod-resources`."""
    for family in families:
        attr = _MIG_GAUGES.get(family.name)
        if attr is None:
            continue
        for mig in gpu.mig_devices:
            value = getattr(mig, attr)
            if value is not None:
                mig_labels = {
                    **labels,
                    "GPU_I_PROFILE": mig.profile,
                    "GPU_I_ID": str(mig.gpu_instance_id),
                    **_pod_labels(mig.uuid, owners),
                }
                family.add_sample(family.name, mig_labels, float(value))


def _pod_resources_families(view: AgentView) -> Iterator[Metric]:
    up = GaugeMetricFamily(
        "gpu_node_agent_pod_resources_up",
        "1 when the last kubelet pod-resources lookup answered (pod labels are current).",
        labels=["node"],
    )
    up.add_metric([view.node], float(view.pod_resources_ok))
    yield up
    errors = CounterMetricFamily(
        "gpu_node_agent_pod_resources_errors",
        "Failed kubelet pod-resources lookups by kind (socket-missing, unavailable, deadline-exceeded, ...).",
        labels=["node", "kind"],
    )
    for kind, count in sorted(view.pod_resources_errors.items()):
        errors.add_metric([view.node, kind], count)
    yield errors


def _reliability_families(
    gpus: tuple[GpuSnapshot, ...], node: str, owners: Mapping[str, PodRef] | None
) -> Iterator[Metric]:
    """XID, ECC, row remapping and clock event reasons: what a GPU fleet alerts on (dcgm-exporter's XID_ERRORS,
    ECC_*_TOTAL, *_REMAPPED_ROWS, ROW_REMAP_*, CLOCK_THROTTLE_REASONS)."""
    xids = CounterMetricFamily(
        "gpu_node_agent_gpu_xid_errors",
        "XID events seen since the agent started, by XID code.",
        labels=[*GPU_LABELS, "xid"],
    )
    ecc = CounterMetricFamily(
        "gpu_node_agent_gpu_ecc_errors",
        "ECC errors: scope volatile (since the driver loaded) or aggregate (lifetime); type corrected or uncorrected.",
        labels=[*GPU_LABELS, "scope", "type"],
    )
    rows = GaugeMetricFamily(
        "gpu_node_agent_gpu_remapped_rows", "Memory rows remapped, by cause.", labels=[*GPU_LABELS, "cause"]
    )
    pending = GaugeMetricFamily(
        "gpu_node_agent_gpu_row_remap_pending", "1 when a row remap waits for a GPU reset.", labels=GPU_LABELS
    )
    failed = GaugeMetricFamily("gpu_node_agent_gpu_row_remap_failed", "1 when a row remap failed.", labels=GPU_LABELS)
    clocks = GaugeMetricFamily(
        "gpu_node_agent_gpu_clocks_event_active",
        "1 while this reason holds the GPU's clocks down (throttling).",
        labels=[*GPU_LABELS, "reason"],
    )
    for gpu in gpus:
        key = _gpu_labels(gpu, node, owners)
        for xid, count in gpu.xid_counts:
            _add(xids, {**key, "xid": str(xid)}, count)
        for mig in gpu.mig_devices:  # an XID of one MIG instance, with dcgm-exporter's instance labels
            instance = {**key, "GPU_I_PROFILE": mig.profile, "GPU_I_ID": str(mig.gpu_instance_id)}
            for xid, count in mig.xid_counts:
                _add(xids, {**instance, **_pod_labels(mig.uuid, owners), "xid": str(xid)}, count)
        for (scope, kind), count in gpu.ecc_errors:
            _add(ecc, {**key, "scope": scope, "type": kind}, count)
        if gpu.remapped_rows_correctable is not None:
            _add(rows, {**key, "cause": "correctable"}, gpu.remapped_rows_correctable)
        if gpu.remapped_rows_uncorrectable is not None:
            _add(rows, {**key, "cause": "uncorrectable"}, gpu.remapped_rows_uncorrectable)
        if gpu.row_remap_pending is not None:
            _add(pending, key, gpu.row_remap_pending)
        if gpu.row_remap_failed is not None:
            _add(failed, key, gpu.row_remap_failed)
        if gpu.clocks_event_reasons is not None:
            for reason, bit in CLOCK_EVENT_REASONS:
                _add(clocks, {**key, "reason": reason}, bool(gpu.clocks_event_reasons & bit))
    yield from (xids, ecc, rows, pending, failed, clocks)
