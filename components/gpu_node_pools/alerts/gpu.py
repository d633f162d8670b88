"""GPU trouble from the node agent's per-GPU and per-node series (names as in docs/node-agent.md, Metrics).

Ratios divide two series of the same GPU with identical label sets (`used / total`), so the rules hold whatever
identity labels the agent puts on a GPU (index, UUID, model, MIG instance).
"""

from __future__ import annotations

from ..config.alerts import AlertsConfig
from ._rule import Alert, series

__all__ = ["APPLICATION_XIDS", "gpu_alerts"]

# XIDs caused by the application, not the GPU: the NVIDIA device plugin ignores exactly these (internal/rm/health.go).
APPLICATION_XIDS = (13, 31, 43, 45, 68, 109)
# Clock slowdowns that mean cooling or power trouble; sw_power_cap is normal at full load and not here.
TROUBLE_SLOWDOWNS = ("hw_slowdown", "hw_thermal_slowdown", "hw_power_brake_slowdown", "sw_thermal_slowdown")


def gpu_alerts(config: AlertsConfig) -> list[Alert]:
    c, agent = config.gpu, config.node_agent_selector

    runbook = config.runbook
    used = series("gpu_node_agent_gpu_memory_used_bytes", agent)
    total = series("gpu_node_agent_gpu_memory_total_bytes", agent)
    critical_xid = series(
        "gpu_node_agent_gpu_xid_errors_total", agent, f'xid!~"{"|".join(str(x) for x in APPLICATION_XIDS)}"'
    )
    lost = series("gpu_node_agent_node_healthy", agent, 'reason="gpu-lost"')
    unreadable = series("gpu_node_agent_node_healthy", agent, 'reason!~"ok|gpu-lost"')
    slowdown = series("gpu_node_agent_gpu_clocks_event_active", agent, f'reason=~"{"|".join(TROUBLE_SLOWDOWNS)}"')
    return [
        Alert(
            "GpuMemoryPressure",
            f"{used}\n/ {total} > {c.memory_used_ratio:g}",
            c.memory_for,
            "warning",
            "GPU memory nearly full.",
            "GPU {{ $labels.gpu }} on {{ $labels.node }} has used {{ $value | humanizePercentage }} of its "
            f"memory for {c.memory_for}: the next allocation there may fail with out-of-memory.",
            runbook("GpuMemoryPressure"),
        ),
        Alert(
            "GpuLost",
            f"{lost} == 0",
            c.lost_for,
            "critical",
            "A GPU fell off the bus.",
            "The node agent on {{ $labels.node }} reports a lost GPU (NVML GpuIsLost or no handle): pods on it "
            "fail; drain the node and reset or replace the GPU.",
            runbook("GpuLost"),
        ),
        Alert(
            "GpuNodeUnhealthy",
            f"{unreadable} == 0",
            c.unhealthy_for,
            "warning",
            "The node agent cannot read the node's GPUs.",
            "The node agent on {{ $labels.node }} reports its GPUs unhealthy ({{ $labels.reason }}) for "
            f"{c.unhealthy_for}: NVML reads fail (driver not loaded, reads failing).",
            runbook("GpuNodeUnhealthy"),
        ),
        Alert(
            "GpuUnhealthy",
            f"{series('gpu_node_agent_gpu_healthy', agent)} == 0",
            c.unhealthy_for,
            "warning",
            "A GPU reads unhealthy.",
            "GPU {{ $labels.gpu }} on {{ $labels.node }} has not read cleanly for " f"{c.unhealthy_for}.",
            runbook("GpuUnhealthy"),
        ),
        Alert(
            "GpuCriticalXidError",
            # A counter that appears already above 0 has no increase() yet: the second arm catches it.
            f"increase({critical_xid}[{c.xid_window}]) > 0\n"
            f"or ({critical_xid} > 0 unless {critical_xid} offset {c.xid_window})",
            "0s",
            "critical",
            "A GPU reported a critical XID error.",
            "GPU {{ $labels.gpu }} on {{ $labels.node }} reported XID {{ $labels.xid }} "
            f"in the last {c.xid_window}: the device plugin marks such a GPU unhealthy; check dmesg and drain the "
            "node if it repeats.",
            runbook("GpuCriticalXidError"),
        ),
        Alert(
            "GpuTemperatureHigh",
            f"{series('gpu_node_agent_gpu_temperature_celsius', agent)} > {c.temperature_celsius:g}",
            c.temperature_for,
            "warning",
            "GPU running hot.",
            "GPU {{ $labels.gpu }} on {{ $labels.node }} is at {{ $value }} °C "
            f"(above {c.temperature_celsius:g} °C for {c.temperature_for}).",
            runbook("GpuTemperatureHigh"),
        ),
        Alert(
            "GpuClocksSlowdown",
            f"{slowdown} == 1",
            c.slowdown_for,
            "warning",
            "GPU clocks slowed by heat or power.",
            "GPU {{ $labels.gpu }} on {{ $labels.node }} has run with clock slowdown {{ $labels.reason }} for "
            f"{c.slowdown_for}: thermal means cooling trouble, power brake means the power supply.",
            runbook("GpuClocksSlowdown"),
        ),
    ]
