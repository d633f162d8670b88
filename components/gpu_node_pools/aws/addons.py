"""A new cluster's EKS managed add-ons as CreateAddon requests, and when each is created.

Networking and pod identity must be in place before nodes join (a node without its CNI never becomes
Ready); CoreDNS is a Deployment, so it is created after the node groups it runs on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

__all__ = ["MANAGED_ADDONS", "ManagedAddon", "create_addon_request", "vpc_cni_configuration"]


@dataclass(frozen=True)
class ManagedAddon:
    name: str
    before_compute: bool


MANAGED_ADDONS = (
    ManagedAddon("vpc-cni", before_compute=True),
    # A DaemonSet needing no node to be created; pods on new nodes need Service routing from their start.
    ManagedAddon("kube-proxy", before_compute=True),
    ManagedAddon("eks-pod-identity-agent", before_compute=True),
    ManagedAddon("coredns", before_compute=False),
    # Optional (cluster.addons.eks-node-monitoring-agent.enabled): a DaemonSet reporting GPU faults as node conditions.
    ManagedAddon("eks-node-monitoring-agent", before_compute=False),
)


def vpc_cni_configuration(enforce_network_policy: bool) -> str | None:
    """vpc-cni's configuration values: it enforces NetworkPolicy only when told to (its network policy agent)."""
    return json.dumps({"enableNetworkPolicy": "true"}) if enforce_network_policy else None


def create_addon_request(
    cluster_name: str, addon_name: str, *, version: str, configuration_values: str | None = None
) -> dict[str, Any]:
    """The EKS CreateAddon request. OVERWRITE: the add-on's config is ours, not whatever was edited in-cluster."""
    request: dict[str, Any] = {
        "clusterName": cluster_name,
        "addonName": addon_name,
        "addonVersion": version,
        "resolveConflicts": "OVERWRITE",
    }
    if configuration_values is not None:
        request["configurationValues"] = configuration_values
    return request
