"""Tenant namespaces: Pod Security labels, default requests and limits, quotas, and default-deny networking.

The LimitRange gives every container that sets none its requests and limits, so no pod runs unbounded; a
ResourceQuota caps the namespace and its GPUs (`requests.nvidia.com/gpu`; extended resources can only be capped
on requests). A namespace without `gpuAccess` gets a GPU quota of 0, so GPU pods there fail at admission
rather than sit Pending. Default-deny NetworkPolicies (on unless a tenant opts out) admit only DNS to kube-dns;
they take effect where the CNI enforces NetworkPolicy (on EKS: the VPC CNI with network policy enabled).
"""

from __future__ import annotations

from typing import Any

from ..config.tenants import GPU_QUOTA_KEY, TenantNamespaceConfig
from ..contract import IsolationContract

__all__ = [
    "GPU_ACCESS_LABEL",
    "build_tenant_namespace",
    "build_tenants",
]

# Marks tenant namespaces and whether they may use GPUs, for policies and selectors.
GPU_ACCESS_LABEL = "gpu-node-pools.io/gpu-access"
_PART_OF = {"app.kubernetes.io/part-of": "gpu-node-pools"}


def build_tenant_namespace(config: TenantNamespaceConfig, contract: IsolationContract) -> list[dict[str, Any]]:
    """Namespace, LimitRange, ResourceQuota (when capped) and NetworkPolicies (when default-deny).

    `contract` keeps every builder's signature alike.
    """
    objects = [_namespace(config), _limit_range(config)]
    hard = config.quota.hard() if config.quota else {}
    if not config.gpu_access:
        hard[GPU_QUOTA_KEY] = "0"
    if hard:
        objects.append(_namespaced(config.name, "v1", "ResourceQuota", "tenant-quota", spec={"hard": hard}))
    if config.default_deny_network_policy:
        objects.extend(_network_policies(config.name))
    return objects


def build_tenants(tenants: list[TenantNamespaceConfig], contract: IsolationContract) -> list[dict[str, Any]]:
    return [obj for tenant in tenants for obj in build_tenant_namespace(tenant, contract)]


def _namespaced(namespace: str, api_version: str, kind: str, name: str, **fields: Any) -> dict[str, Any]:
    metadata = {"name": name, "namespace": namespace, "labels": dict(_PART_OF)}
    return {"apiVersion": api_version, "kind": kind, "metadata": metadata, **fields}


def _namespace(config: TenantNamespaceConfig) -> dict[str, Any]:
    labels = {**_PART_OF, GPU_ACCESS_LABEL: str(config.gpu_access).lower()}
    for mode in ("enforce", "audit", "warn"):
        labels[f"pod-security.kubernetes.io/{mode}"] = config.pod_security
        labels[f"pod-security.kubernetes.io/{mode}-version"] = config.pod_security_version
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": config.name, "labels": labels}}


def _limit_range(config: TenantNamespaceConfig) -> dict[str, Any]:
    limits = config.limit_range
    container: dict[str, Any] = {
        "type": "Container",
        "defaultRequest": limits.default_request.model_dump(),
        "default": limits.default.model_dump(),
    }
    if limits.max:
        container["max"] = limits.max.model_dump(exclude_none=True)
    return _namespaced(config.name, "v1", "LimitRange", "tenant-defaults", spec={"limits": [container]})


def _network_policies(namespace: str) -> list[dict[str, Any]]:
    networking = "networking.k8s.io/v1"
    dns_port = [{"protocol": protocol, "port": 53} for protocol in ("UDP", "TCP")]
    return [
        _namespaced(
            namespace,
            networking,
            "NetworkPolicy",
            "default-deny",
            spec={"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
        ),
        # Without DNS nothing resolves, and a default-deny namespace is unusable rather than safe.
        _namespaced(
            namespace,
            networking,
            "NetworkPolicy",
            "allow-dns-egress",
            spec={
                "podSelector": {},
                "policyTypes": ["Egress"],
                "egress": [
                    {
                        "to": [
                            {
                                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                            }
                        ],
                        "ports": dns_port,
                    }
                ],
            },
        ),
    ]
