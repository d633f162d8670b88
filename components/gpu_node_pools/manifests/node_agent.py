"""PLACEHOLDER until the node-agent engineer's builder lands (owned by issue 3's work; overwrite freely).

Declares no objects yet, so the platform config and the CLI work in the meantime.
"""

from __future__ import annotations

from typing import Any

from .._model import ConfigModel
from ..contract import IsolationContract

__all__ = ["NodeAgentConfig", "build_node_agent"]


class NodeAgentConfig(ConfigModel):
    enabled: bool = True


def build_node_agent(config: NodeAgentConfig, contract: IsolationContract) -> list[dict[str, Any]]:
    return []
