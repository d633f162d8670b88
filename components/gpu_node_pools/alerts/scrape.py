"""The node agent's scrape job, for a Prometheus run without prometheus-operator (plain `scrape_configs:`).

In a cluster it finds the agent's pods through Kubernetes service discovery and keeps only their `metrics` port;
given `targets` (address -> node name) it scrapes those instead, as the local stack does with its host agents.
Either way each target carries `node`, so `up` joins the agent's own series and kube-state-metrics' on `node`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..config.node_agent import NODE_AGENT_NAME, NodeAgentConfig

__all__ = ["DEFAULT_SCRAPE_INTERVAL", "NODE_AGENT_JOB", "scrape_config"]

# The job name is what `alerts.nodeAgentSelector` matches by default (job="gpu-node-agent").
NODE_AGENT_JOB = NODE_AGENT_NAME
# The agent reads NVML every 15 s by default; scraping faster only repeats the same values.
DEFAULT_SCRAPE_INTERVAL = "15s"


def scrape_config(
    agent: NodeAgentConfig,
    *,
    targets: Mapping[str, str] | None = None,
    interval: str = DEFAULT_SCRAPE_INTERVAL,
    job: str = NODE_AGENT_JOB,
) -> dict[str, Any]:
    """One `scrape_configs` entry for the node agent."""
    # honor_labels: the agent's series carry `node` already; without it Prometheus would rename theirs to
    # `exported_node` next to the target's own `node`.
    base: dict[str, Any] = {
        "job_name": job, "scrape_interval": interval, "metrics_path": "/metrics", "honor_labels": True,
    }
    if targets is not None:
        return {
            **base,
            "static_configs": [
                {"targets": [address], "labels": {"node": node}} for address, node in sorted(targets.items())
            ],
        }
    return {
        **base,
        "kubernetes_sd_configs": [{"role": "pod", "namespaces": {"names": [agent.namespace]}}],
        "relabel_configs": [
            {
                "source_labels": ["__meta_kubernetes_pod_label_app_kubernetes_io_name"],
                "regex": NODE_AGENT_NAME,
                "action": "keep",
            },
            {"source_labels": ["__meta_kubernetes_pod_container_port_name"], "regex": "metrics", "action": "keep"},
            {"source_labels": ["__meta_kubernetes_pod_node_name"], "target_label": "node"},
            {"source_labels": ["__meta_kubernetes_pod_name"], "target_label": "pod"},
        ],
    }
