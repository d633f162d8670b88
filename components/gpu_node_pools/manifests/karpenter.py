"""Karpenter NodePools (karpenter.sh/v1) for elastic pools, built from the pool config and the isolation contract.

A NodePool says what a node may be (requirements), what it carries (the contract's taint and labels), how much in
total (the cap in `limits`) and when it goes (disruption, expiry). A GPU pool's nodes carry the contract's GPU taint
and must have NVIDIA GPUs; a general pool's carry no taint and must have none, so the fence holds both ways. How a node boots is the NodeClass's job:
the NodePool only names it, so the same NodePool serves EKS (an EC2NodeClass) and the local cluster (Karpenter's
kwok provider, whose instance types carry the same AWS label keys: see `kwok_instance_types`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..config.elastic import ElasticConfig
from ..config.karpenter import EC2_NODE_CLASS_REF
from ..config.node_pool import NodePoolConfig
from ..config.sharing import (
    DEVICE_PLUGIN_CONFIG_LABEL,
    GPU_SHARING_LABEL,
    MIG_STRATEGY_LABEL,
    advertised_resources,
)
from ..contract import IsolationContract
from ..facts.instance_types import GPU_MANUFACTURER

__all__ = [
    "API_VERSION",
    "AUTO_MODE_LABELS",
    "AUTO_MODE_NODE_CLASS_GROUP",
    "CAPACITY_TYPE_LABEL",
    "EKS_NODE_CLASS_REF",
    "GPU_COUNT_LABEL",
    "GPU_MANUFACTURER_LABEL",
    "INSTANCE_FAMILY_LABEL",
    "KWOK_NODE_CLASS_REF",
    "NODEPOOL_LABEL",
    "build_node_pools",
    "node_pool",
]

API_VERSION = "karpenter.sh/v1"
# Well-known label keys (Karpenter core and its AWS provider; the local instance types carry the AWS ones too).
CAPACITY_TYPE_LABEL = "karpenter.sh/capacity-type"
NODEPOOL_LABEL = "karpenter.sh/nodepool"
GPU_MANUFACTURER_LABEL = "karpenter.k8s.aws/instance-gpu-manufacturer"
# Set only on instance types with GPUs (by Karpenter's AWS provider, and by our local instance types).
GPU_COUNT_LABEL = "karpenter.k8s.aws/instance-gpu-count"
INSTANCE_FAMILY_LABEL = "karpenter.k8s.aws/instance-family"
INSTANCE_TYPE_LABEL = "node.kubernetes.io/instance-type"
ARCH_LABEL = "kubernetes.io/arch"
OS_LABEL = "kubernetes.io/os"
# EKS Auto Mode runs the same NodePool API with its own instance label keys (EKS User Guide, "Create a Node Pool for
# EKS Auto Mode", supported labels); Karpenter core's keys (capacity type, arch, os, instance type) are shared. A
# NodePool whose nodeClassRef is Auto Mode's NodeClass takes these, with nothing else changed.
AUTO_MODE_NODE_CLASS_GROUP = "eks.amazonaws.com"
AUTO_MODE_LABELS: Mapping[str, str] = {
    INSTANCE_FAMILY_LABEL: "eks.amazonaws.com/instance-family",
    GPU_MANUFACTURER_LABEL: "eks.amazonaws.com/instance-gpu-manufacturer",
    GPU_COUNT_LABEL: "eks.amazonaws.com/instance-gpu-count",
}

# The EC2NodeClass the EKS layer declares for every elastic pool, and the local cluster's KWOKNodeClass.
# The EC2NodeClass the EKS layer creates (config.karpenter); locally, the KWOKNodeClass scripts/cluster.sh installs.
EKS_NODE_CLASS_REF: Mapping[str, str] = EC2_NODE_CLASS_REF
KWOK_NODE_CLASS_REF: Mapping[str, str] = {"group": "karpenter.kwok.sh", "kind": "KWOKNodeClass", "name": "default"}

_SHARING_KEYS = (DEVICE_PLUGIN_CONFIG_LABEL, GPU_SHARING_LABEL, MIG_STRATEGY_LABEL)
_MANAGED_BY = {"app.kubernetes.io/managed-by": "gpu-node-pools"}


def node_pool(
    pool: NodePoolConfig, contract: IsolationContract, node_class_ref: Mapping[str, str]
) -> dict[str, Any]:
    """The NodePool of one elastic pool. `node_class_ref` names the NodeClass its nodes boot from; an EKS Auto Mode
    NodeClass (group eks.amazonaws.com) puts the requirements in Auto Mode's label keys."""
    elastic = pool.elastic
    if elastic is None:
        raise ValueError(f"pool {pool.name!r} is a managed node group, not an elastic pool")
    template_spec: dict[str, Any] = {
        "nodeClassRef": dict(node_class_ref),
        "taints": [t.to_k8s() for t in pool.node_taints(contract)],
        "requirements": (_requirements(pool, elastic, auto_mode=node_class_ref["group"] == AUTO_MODE_NODE_CLASS_GROUP)
                         + _sharing_requirements(pool)),
        "expireAfter": elastic.expire_after,
    }
    if elastic.termination_grace_period is not None:
        template_spec["terminationGracePeriod"] = elastic.termination_grace_period
    spec: dict[str, Any] = {
        "template": {"metadata": {"labels": pool.node_labels(contract)}, "spec": template_spec},
        "limits": _limits(pool, elastic, node_class_ref),
        "disruption": elastic.disruption.to_k8s(pool.kind),
    }
    if elastic.weight is not None:
        spec["weight"] = elastic.weight
    return {
        "apiVersion": API_VERSION,
        "kind": "NodePool",
        "metadata": {"name": pool.name, "labels": dict(_MANAGED_BY)},
        "spec": spec,
    }


def build_node_pools(
    pools: list[NodePoolConfig], contract: IsolationContract, default_node_class_ref: Mapping[str, str]
) -> list[dict[str, Any]]:
    """The NodePools of the elastic pools among `pools`; a pool's own `elastic.nodeClassRef` wins."""
    node_pools = []
    for pool in pools:
        if pool.elastic is None:
            continue
        own = pool.elastic.node_class_ref
        node_pools.append(node_pool(pool, contract, own.to_k8s() if own else default_node_class_ref))
    return node_pools


def _requirements(pool: NodePoolConfig, elastic: ElasticConfig, *, auto_mode: bool) -> list[dict[str, Any]]:
    # GPU pools: NVIDIA only, since the AL2023 NVIDIA AMI and our device plugin serve nothing else (AWS also sells
    # AMD, Habana, Inferentia and Trainium instances with "GPUs" or accelerators). General pools: no GPU at all, as
    # a rule Karpenter enforces itself, on top of the families or types the config checked against the table.
    if pool.is_gpu:
        requirements = [_in(GPU_MANUFACTURER_LABEL, [GPU_MANUFACTURER])]
    else:
        requirements = [{"key": GPU_COUNT_LABEL, "operator": "DoesNotExist"}]
    if elastic.instance_families is not None:
        requirements.append(_in(INSTANCE_FAMILY_LABEL, elastic.instance_families))
    else:
        requirements.append(_in(INSTANCE_TYPE_LABEL, pool.instance_types))
    requirements += [
        _in(ARCH_LABEL, elastic.architectures),
        _in(OS_LABEL, ["linux"]),
        _in(CAPACITY_TYPE_LABEL, elastic.capacity_types),
    ]
    if auto_mode:
        return [{**r, "key": AUTO_MODE_LABELS.get(r["key"], r["key"])} for r in requirements]
    return requirements


def _in(key: str, values: Sequence[str]) -> dict[str, Any]:
    return {"key": key, "operator": "In", "values": list(values)}


def _sharing_requirements(pool: NodePoolConfig) -> list[dict[str, Any]]:
    """A shared pool's nodes carry its sharing labels (Karpenter stamps single-valued `In` requirements on the
    node); a whole-GPU pool takes no node whose type is a shared copy (only the local instance types have them)."""
    if pool.sharing is None:
        return [{"key": GPU_SHARING_LABEL, "operator": "NotIn", "values": ["time-slicing", "mps", "mig"]}]
    labels = pool.node_labels(IsolationContract())
    return [_in(key, [labels[key]]) for key in sorted(labels) if key in _SHARING_KEYS]


def _limits(pool: NodePoolConfig, elastic: ElasticConfig, node_class_ref: Mapping[str, str]) -> dict[str, str]:
    """The GPU cap in `nvidia.com/gpu`, in the unit Karpenter counts a launching node by: its instance type's.
    The local Karpenter's copies of a shared pool's types advertise the shares (time-slicing or MPS replicas, MIG
    devices), so there `limits.gpus` GPUs are that many GPUs' shares. Karpenter's AWS provider knows whole GPUs
    only, so on EKS the cap stays `limits.gpus`: a launch never takes the pool past that many GPUs, and once a node
    is up Karpenter counts what it advertises (its shares), so the pool stops growing earlier (docs/rightsizing.md)."""
    limits: dict[str, str] = {}
    if elastic.limits.gpus is not None:
        counts_shares = node_class_ref["group"] == KWOK_NODE_CLASS_REF["group"]
        gpu = pool.mig_gpu()
        sharing = pool.sharing if counts_shares else None
        advertised = advertised_resources(sharing, elastic.limits.gpus, gpu.model if gpu else "")
        limits.update({name: str(count) for name, count in advertised.items()})
    if elastic.limits.cpu is not None:
        limits["cpu"] = elastic.limits.cpu
    if elastic.limits.memory is not None:
        limits["memory"] = elastic.limits.memory
    return limits
