"""Cost: GPUs allocated to pods that leave them idle, and GPU pods that cannot start (capacity or quota)."""

from __future__ import annotations

from ..config.alerts import AlertsConfig
from ._rule import Alert, series

__all__ = ["cost_alerts"]


def cost_alerts(config: AlertsConfig) -> list[Alert]:
    c, agent, ksm = config.cost, config.node_agent_selector, config.kube_state_metrics_selector

    runbook = config.runbook
    requests = series("kube_pod_container_resource_requests", ksm, 'resource="nvidia_com_gpu"')

    def phase(name: str) -> str:
        return series("kube_pod_status_phase", ksm, f'phase="{name}"')

    return [
        Alert(
            "GpuAllocatedButIdle",
            f"(sum by (node) ({requests}\n  * on (namespace, pod) group_left () "
            f"max by (namespace, pod) ({phase('Running')} == 1)) > 0)\n"
            f"and on (node)\n"
            f"max by (node) ({series('gpu_node_agent_gpu_utilization_ratio', agent)}) < {c.idle_utilization_ratio:g}",
            c.idle_for,
            "warning",
            "GPUs allocated but idle.",
            "{{ $value }} GPUs on {{ $labels.node }} are allocated to running pods, but none of its GPUs has been "
            f"above {c.idle_utilization_ratio:.0%} utilization for {c.idle_for}: the pods hold GPUs they do not use.",
            runbook("GpuAllocatedButIdle"),
        ),
        Alert(
            "GpuPodPending",
            f"(sum by (namespace, pod) ({requests}) > 0)\n"
            f"and on (namespace, pod)\n(max by (namespace, pod) ({phase('Pending')}) == 1)",
            c.pending_for,
            "warning",
            "A pod asking for GPUs cannot start.",
            "{{ $labels.namespace }}/{{ $labels.pod }} requests {{ $value }} GPUs and has been Pending for "
            f"{c.pending_for}: no GPU node has room (capacity, pool size) or the namespace's GPU quota is used up.",
            runbook("GpuPodPending"),
        ),
    ]
