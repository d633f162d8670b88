"""Prometheus metrics: a stateless collector that builds fresh families from the latest `AgentView`.

Names follow dcgm-exporter's coverage with Prometheus base units (bytes, watts, celsius). Nothing registers on
import; the caller passes the registry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from .state import AgentView

__all__ = ["AgentCollector"]

# uuid, model and pci_bus_id outlive a failed read (history.ReadHistory), so a series keeps its identity.
GPU_LABELS = ["gpu", "uuid", "model", "pci_bus_id", "node"]
_GPU_GAUGES: tuple[tuple[str, str, Callable[..., float | None]], ...] = (
    ("gpu_node_agent_gpu_memory_used_bytes", "GPU framebuffer memory used.", lambda g: g.memory_used_bytes),
    ("gpu_node_agent_gpu_memory_free_bytes", "GPU framebuffer memory free.", lambda g: g.memory_free_bytes),
    ("gpu_node_agent_gpu_memory_total_bytes", "GPU framebuffer memory total.", lambda g: g.memory_total_bytes),
    ("gpu_node_agent_gpu_utilization_percent", "GPU utilization (%).", lambda g: g.utilization_gpu_percent),
    (
        "gpu_node_agent_gpu_memory_utilization_percent",
        "GPU memory controller utilization (%).",
        lambda g: g.utilization_memory_percent,
    ),
    ("gpu_node_agent_gpu_temperature_celsius", "GPU temperature.", lambda g: g.temperature_celsius),
    ("gpu_node_agent_gpu_power_watts", "GPU power draw.", lambda g: g.power_watts),
    ("gpu_node_agent_gpu_healthy", "1 when the GPU read cleanly in the last cycle.", lambda g: float(g.healthy)),
)


class AgentCollector(Collector):
    def __init__(self, view: Callable[[], AgentView]) -> None:
        self._view = view

    def collect(self) -> Iterator[Metric]:
        view = self._view()
        snapshot = view.snapshot
        up = GaugeMetricFamily("gpu_node_agent_up", "1 when the last cycle read NVML.", labels=["node"])
        up.add_metric([view.node], float(snapshot is not None and snapshot.error is None))
        yield up
        health = view.health
        if health is not None:
            node_health = GaugeMetricFamily(
                "gpu_node_agent_node_healthy",
                "1 when the node's GPUs are healthy; `reason` says why not (gpu-lost, read-failing, ...).",
                labels=["node", "reason"],
            )
            node_health.add_metric([view.node, health.reason], float(health.ok))
            yield node_health
        families = [GaugeMetricFamily(name, doc, labels=GPU_LABELS) for name, doc, _ in _GPU_GAUGES]
        for gpu in snapshot.gpus if snapshot else ():
            key = [str(gpu.index), gpu.uuid, gpu.name, gpu.pci_bus_id, view.node]
            for family, (_, _, read) in zip(families, _GPU_GAUGES):
                value = read(gpu)
                if value is not None:
                    family.add_metric(key, float(value))
        yield from families
        if view.collection_seconds is not None:
            yield GaugeMetricFamily(
                "gpu_node_agent_collection_duration_seconds",
                "Time the last NVML collection took.",
                value=view.collection_seconds,
            )
        errors = CounterMetricFamily("gpu_node_agent_nvml_errors", "NVML errors by kind.", labels=["kind"])
        for kind, count in sorted(view.nvml_errors.items()):
            errors.add_metric([kind], count)
        yield errors
        yield CounterMetricFamily("gpu_node_agent_label_writes", "Node label patches sent.", value=view.label_writes)
        yield CounterMetricFamily(
            "gpu_node_agent_label_write_failures",
            "Label syncs that failed after every retry.",
            value=view.label_write_failures,
        )
        if view.last_write_time is not None:
            yield GaugeMetricFamily(
                "gpu_node_agent_last_label_write_timestamp_seconds",
                "When labels were last written.",
                value=view.last_write_time,
            )
