"""The agent on the network: NetworkPolicies (only the scrapers' namespaces reach it; it reaches only DNS and the API
server), and a headless Service."""

from __future__ import annotations

from typing import Any

from ...config.node_agent import NODE_AGENT_NAME, NodeAgentConfig
from ._meta import SELECTOR, meta

__all__ = ["egress_network_policy", "metrics_network_policy", "service"]


def metrics_network_policy(config: NodeAgentConfig) -> dict[str, Any]:
    """Only the scrapers' namespaces reach the metrics port; nothing else reaches the pod.

    The agent runs on the pod network (no hostNetwork), so the policy applies to it. The kubelet's probes come
    from the node, which NetworkPolicy always admits. Egress: `egress_network_policy`.
    """
    ingress: list[dict[str, Any]] = []
    if config.metrics_scrapers:
        scrapers = {"key": "kubernetes.io/metadata.name", "operator": "In", "values": list(config.metrics_scrapers)}
        ingress.append(
            {
                "from": [{"namespaceSelector": {"matchExpressions": [scrapers]}}],
                "ports": [{"protocol": "TCP", "port": config.port}],
            }
        )
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": meta(f"{NODE_AGENT_NAME}-metrics", config.namespace),
        "spec": {"podSelector": {"matchLabels": dict(SELECTOR)}, "policyTypes": ["Ingress"], "ingress": ingress},
    }


def egress_network_policy(config: NodeAgentConfig) -> dict[str, Any]:
    """The agent reaches DNS and the API server, nothing else.

    The API server has no pod or namespace to select: after the `kubernetes` Service's DNAT the policy sees its
    endpoints (on EKS, control-plane ENIs in the VPC, on 443; 6443 elsewhere), whose addresses a stack can't know
    ahead, so egress is allowed to those ports on any address.
    """
    dns = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
           "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": meta(f"{NODE_AGENT_NAME}-egress", config.namespace),
        "spec": {
            "podSelector": {"matchLabels": dict(SELECTOR)},
            "policyTypes": ["Egress"],
            "egress": [
                {"to": [dns], "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]},
                {"ports": [{"protocol": "TCP", "port": 443}, {"protocol": "TCP", "port": 6443}]},
            ],
        },
    }


def service(config: NodeAgentConfig) -> dict[str, Any]:
    """Headless: Prometheus scrapes every agent pod, not one behind a virtual IP."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta(NODE_AGENT_NAME, config.namespace),
        "spec": {
            "clusterIP": "None",
            "selector": dict(SELECTOR),
            "ports": [{"name": "metrics", "port": config.port, "targetPort": "metrics", "protocol": "TCP"}],
        },
    }
