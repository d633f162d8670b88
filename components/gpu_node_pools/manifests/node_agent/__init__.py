"""The NVML node agent (`node-agent/`): a DaemonSet on GPU nodes that labels its own Node and serves metrics.

Least privilege in four layers, one module each:
- `rbac`: `get` and `patch` on nodes (cluster-wide, as RBAC can't scope a verb to "my node"), and its Leases in
  its own namespace;
- `admission`: ValidatingAdmissionPolicies: this service account may change only labels under its prefix, only on
  the node named in its pod-bound token (`authentication.kubernetes.io/node-name`, Kubernetes >= 1.32), and nothing
  else of the Node; in that node's status only the node repair condition (`nodeRepair`); its Leases must be named
  after that same node;
- `daemonset`: the pod: non-root, read-only root, no capabilities, seccomp RuntimeDefault, a short-lived projected
  token;
- `network`: only the scraping namespaces (`metricsScrapers`) reach its metrics port; it reaches only DNS and the
  API server.
"""

from __future__ import annotations

from typing import Any

from ...config.node_agent import NODE_AGENT_IMAGE_REQUIRED, NODE_AGENT_NAME, DeviceListStrategy, NodeAgentConfig
from ...contract import IsolationContract
from .admission import (
    GFD_LABEL_KEYS,
    NODE_NAME_CLAIM,
    binding,
    lease_policy,
    node_condition_policy,
    node_label_policy,
)
from .daemonset import daemonset, namespace
from .network import egress_network_policy, metrics_network_policy, service
from .rbac import lease_rbac, node_agent_service_account, node_rbac, reader_role, service_account

__all__ = [
    "GFD_LABEL_KEYS",
    "NODE_NAME_CLAIM",
    "build_node_agent",
    "node_agent_service_account",
]


def build_node_agent(
    config: NodeAgentConfig, contract: IsolationContract, *, mig_strategy: str = "none",
    device_list_strategy: DeviceListStrategy = "envvar",
) -> list[dict[str, Any]]:
    """Every object the agent needs, in apply order; nothing when disabled. `mig_strategy`: the MIG pools';
    `device_list_strategy`: how the agent asks the NVIDIA runtime for GPUs (`daemonset`)."""
    if not config.enabled:
        return []
    if config.image is None and config.image_build is not None:
        # Only the stack program and the CLI know the project folder it is relative to (resolve_image_build).
        raise ValueError(f"nodeAgent.imageBuild {config.image_build!r} is not resolved here: set nodeAgent.image")
    if config.image is None:
        raise ValueError(f"nodeAgent.image: {NODE_AGENT_IMAGE_REQUIRED}")
    return [
        namespace(config, device_list_strategy=device_list_strategy),
        service_account(config),
        *node_rbac(config),
        *lease_rbac(config),
        reader_role(),
        node_label_policy(config),
        binding(f"{NODE_AGENT_NAME}-node-labels"),
        node_condition_policy(config),
        binding(f"{NODE_AGENT_NAME}-node-condition"),
        lease_policy(config),
        binding(f"{NODE_AGENT_NAME}-leases"),
        metrics_network_policy(config),
        egress_network_policy(config),
        daemonset(config, contract, config.image, mig_strategy=mig_strategy,
                  device_list_strategy=device_list_strategy),
        service(config),
    ]
