"""The node agent itself: down, missing from a GPU node, or failing to write labels."""

from __future__ import annotations

from ..config.alerts import AlertsConfig
from ._rule import Alert, series

__all__ = ["agent_alerts"]


def agent_alerts(config: AlertsConfig) -> list[Alert]:
    c, agent, ksm = config.gpu, config.node_agent_selector, config.kube_state_metrics_selector

    runbook = config.runbook
    gpu_nodes = series("kube_node_status_allocatable", ksm, 'resource="nvidia_com_gpu"')
    return [
        Alert(
            "GpuNodeAgentDown",
            f"{series('up', agent)} == 0",
            c.agent_down_for,
            "warning",
            "A GPU node agent is down.",
            "Prometheus cannot scrape the node agent at {{ $labels.instance }} (node {{ $labels.node }}) for "
            f"{c.agent_down_for}: its GPUs go unwatched and its node labels go stale.",
            runbook("GpuNodeAgentDown"),
        ),
        Alert(
            "GpuNodeAgentMissing",
            f"(max by (node) ({gpu_nodes}) > 0)\n"
            f"unless on (node)\nmax by (node) ({series('gpu_node_agent_up', agent)})",
            c.agent_missing_for,
            "warning",
            "A GPU node has no node agent.",
            "{{ $labels.node }} offers GPUs but no node agent reports for it: the DaemonSet is not running there "
            "(taints, resources) or Prometheus does not scrape it.",
            runbook("GpuNodeAgentMissing"),
        ),
        Alert(
            "GpuNodeAgentLabelWritesFailing",
            f"rate({series('gpu_node_agent_label_write_failures_total', agent)}[5m]) > 0",
            c.label_writes_failing_for,
            "warning",
            "A node agent cannot write its node's labels.",
            "The node agent on {{ $labels.node }} has failed label writes for "
            f"{c.label_writes_failing_for}: selectors on its GPU labels see stale values. Check the agent's log "
            "for 403 (admission policy, RBAC) or API errors.",
            runbook("GpuNodeAgentLabelWritesFailing"),
        ),
    ]
