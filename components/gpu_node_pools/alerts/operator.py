"""prometheus-operator objects, opt-in: the alert rules as a PrometheusRule, a PodMonitor for the node agent.

The PrometheusRule carries the same rule groups as `gpu-node-pools alerts`; the PodMonitor scrapes every agent
pod's `metrics` port with the job name the rules select (`job="gpu-node-agent"`) and the pod's node as `node`.
Both need the operator's CRDs in the cluster (kube-prometheus-stack installs them); `alerts.ruleLabels` adds the
labels an operator's ruleSelector / podMonitorSelector look for.
"""

from __future__ import annotations

from typing import Any

from . import rule_groups
from .scrape import DEFAULT_SCRAPE_INTERVAL
from ..config.alerts import AlertsConfig
from ..config.node_agent import NODE_AGENT_NAME, NodeAgentConfig

__all__ = ["MONITORING_API_VERSION", "build_monitoring"]

MONITORING_API_VERSION = "monitoring.coreos.com/v1"
_NAME_LABEL = "app.kubernetes.io/name"


def build_monitoring(alerts: AlertsConfig, agent: NodeAgentConfig) -> list[dict[str, Any]]:
    """The PrometheusRule and/or PodMonitor the config asks for, in the agent's namespace; [] by default."""
    labels = {_NAME_LABEL: NODE_AGENT_NAME, "app.kubernetes.io/part-of": "gpu-node-pools", **alerts.rule_labels}
    meta = {"name": NODE_AGENT_NAME, "namespace": agent.namespace, "labels": labels}
    objects: list[dict[str, Any]] = []
    if alerts.prometheus_rule:
        objects.append({
            "apiVersion": MONITORING_API_VERSION,
            "kind": "PrometheusRule",
            "metadata": meta,
            "spec": {"groups": rule_groups(alerts)},
        })
    if alerts.pod_monitor and agent.enabled:
        objects.append({
            "apiVersion": MONITORING_API_VERSION,
            "kind": "PodMonitor",
            "metadata": meta,
            "spec": {
                # The value of the pods' app.kubernetes.io/name label becomes `job`: gpu-node-agent.
                "jobLabel": _NAME_LABEL,
                "selector": {"matchLabels": {_NAME_LABEL: NODE_AGENT_NAME}},
                "namespaceSelector": {"matchNames": [agent.namespace]},
                "podMetricsEndpoints": [{
                    "port": "metrics",
                    "path": "/metrics",
                    "interval": DEFAULT_SCRAPE_INTERVAL,
                    # The agent's series carry `node` already (see alerts/scrape.py).
                    "honorLabels": True,
                    "relabelings": [
                        {"sourceLabels": ["__meta_kubernetes_pod_node_name"], "targetLabel": "node"},
                    ],
                }],
            },
        })
    return objects
