"""The agent's identity and RBAC: its ServiceAccount, `get`/`patch` on nodes (cluster-wide, as RBAC can't scope a
verb to "my node"; the admission policies narrow it), `patch` on nodes/status only while it writes the node repair
condition, its Leases in its own namespace, and a read-only role for people running `gpu-node-agent cluster`."""

from __future__ import annotations

from typing import Any

from ...config.node_agent import NODE_AGENT_NAME, NodeAgentConfig
from ._meta import meta

__all__ = ["NODE_AGENT_READER_ROLE", "lease_rbac", "node_agent_service_account", "node_rbac", "reader_role",
           "service_account"]

NODE_AGENT_READER_ROLE = "gpu-node-agent-reader"


def node_agent_service_account(config: NodeAgentConfig) -> str:
    """The agent's user name as the API server sees it."""
    return f"system:serviceaccount:{config.namespace}:{NODE_AGENT_NAME}"


def service_account(config: NodeAgentConfig) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": meta(NODE_AGENT_NAME, config.namespace),
        # The DaemonSet mounts its own projected token; no pod gets one by accident.
        "automountServiceAccountToken": False,
    }


def _subject(config: NodeAgentConfig) -> list[dict[str, str]]:
    return [{"kind": "ServiceAccount", "name": NODE_AGENT_NAME, "namespace": config.namespace}]


def node_rbac(config: NodeAgentConfig) -> list[dict[str, Any]]:
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": meta(NODE_AGENT_NAME),
        "rules": [
            {"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "patch"]},
            # The repair condition; the admission policy narrows it to this node and that one condition type.
            *([{"apiGroups": [""], "resources": ["nodes/status"], "verbs": ["patch"]}]
              if config.node_repair.enabled else []),
        ],
    }
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": meta(NODE_AGENT_NAME),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": NODE_AGENT_NAME},
        "subjects": _subject(config),
    }
    return [role, binding]


def lease_rbac(config: NodeAgentConfig) -> list[dict[str, Any]]:
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": meta(NODE_AGENT_NAME, config.namespace),
        # Server-side apply of the heartbeat creates the Lease once, then patches it.
        "rules": [{"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["get", "create", "patch"]}],
    }
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": meta(NODE_AGENT_NAME, config.namespace),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": NODE_AGENT_NAME},
        "subjects": _subject(config),
    }
    return [role, binding]


def reader_role() -> dict[str, Any]:
    """For humans running `gpu-node-agent cluster`; bind it to whom you choose (nothing is bound here)."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": meta(NODE_AGENT_READER_ROLE),
        "rules": [
            {"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list", "watch"]},
            {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["get", "list", "watch"]},
        ],
    }
