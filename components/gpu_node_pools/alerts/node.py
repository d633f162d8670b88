"""Node memory pressure and CPU saturation, in the series names and shapes of kubernetes-mixin and node-mixin.

KubeNodeMemoryPressure is kubernetes-mixin's KubeNodePressure narrowed to MemoryPressure; the other three are
node-mixin's NodeMemoryHighUtilization, NodeCPUHighUsage and NodeSystemSaturation with configurable limits.
"""

from __future__ import annotations

from ..config.alerts import AlertsConfig
from ._rule import UPSTREAM_RUNBOOKS, Alert, series

__all__ = ["node_alerts"]


def node_alerts(config: AlertsConfig) -> list[Alert]:
    if not config.node.enabled:
        return []
    c, ksm, ne = config.node, config.kube_state_metrics_selector, config.node_exporter_selector
    pressure = series("kube_node_status_condition", ksm, 'condition="MemoryPressure"', 'status="true"')
    unschedulable = series("kube_node_spec_unschedulable", ksm)
    available = series("node_memory_MemAvailable_bytes", ne)
    total = series("node_memory_MemTotal_bytes", ne)
    busy_cpu = series("node_cpu_seconds_total", ne, 'mode!~"idle|iowait"')
    idle_cpu = series("node_cpu_seconds_total", ne, 'mode="idle"')
    return [
        Alert(
            "KubeNodeMemoryPressure",
            f"{pressure} == 1\nand on (cluster, node)\n{unschedulable} == 0",
            c.memory_pressure_for,
            "warning",
            "Node has memory pressure.",
            "{{ $labels.node }} has the MemoryPressure condition: the kubelet evicts pods and admits no new "
            "BestEffort ones.",
            f"{UPSTREAM_RUNBOOKS}/kubernetes/kubenodepressure",
        ),
        Alert(
            "NodeMemoryHighUtilization",
            f"100 - ({available} / {total} * 100) > {c.memory_high_percent:g}",
            c.memory_high_for,
            "warning",
            "Host is running out of memory.",
            'Memory is filling up: {{ printf "%.0f" $value }}% used on {{ $labels.instance }}.',
            f"{UPSTREAM_RUNBOOKS}/node/nodememoryhighutilization",
        ),
        Alert(
            "NodeCPUHighUsage",
            f"sum without (mode) (avg without (cpu) (rate({busy_cpu}[2m]))) * 100 > {c.cpu_high_percent:g}",
            c.cpu_high_for,
            "info",
            "High CPU usage.",
            f"CPU usage on {{{{ $labels.instance }}}} has been above {c.cpu_high_percent:g}% for {c.cpu_high_for}: "
            '{{ printf "%.0f" $value }}%.',
            f"{UPSTREAM_RUNBOOKS}/node/nodecpuhighusage",
        ),
        Alert(
            "NodeSystemSaturation",
            f"{series('node_load1', ne)}\n/ count without (cpu, mode) ({idle_cpu}) > {c.load_per_core:g}",
            c.load_for,
            "warning",
            "System saturated, load per core is very high.",
            'The 1-minute load per core on {{ $labels.instance }} is {{ printf "%.2f" $value }}: running '
            "services may become unresponsive.",
            f"{UPSTREAM_RUNBOOKS}/node/nodesystemsaturation",
        ),
    ]
