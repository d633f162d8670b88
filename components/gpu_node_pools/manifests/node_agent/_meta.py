"""What every object of the node agent shares: its labels, and the selector of its pods."""

from __future__ import annotations

from typing import Any

from ...config.node_agent import NODE_AGENT_NAME

__all__ = ["LABELS", "SELECTOR", "meta"]

LABELS = {"app.kubernetes.io/name": NODE_AGENT_NAME, "app.kubernetes.io/part-of": "gpu-node-pools"}
SELECTOR = {"app.kubernetes.io/name": NODE_AGENT_NAME}


def meta(name: str, namespace: str | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "labels": dict(LABELS)}
    if namespace is not None:
        metadata["namespace"] = namespace
    return metadata
