"""Simulated (kwok) Node objects that mirror a stack's pools as EKS would launch them.

Each pool gets `scaling.desired` nodes with the labels and taints its node group gives real nodes, plus the
well-known labels the kubelet and EKS add, and the capacity of its first instance type (GPU pools advertise
`nvidia.com/gpu`, or with `sharing` its shares or MIG devices, as the device plugin would make a real node do).
"""

from __future__ import annotations

from typing import Any

from ..config.node_pool import NodePoolConfig
from ..contract import IsolationContract
from ..facts.instance_types import InstanceType, lookup

__all__ = ["KWOK_NODE_ANNOTATION", "simulated_node_name", "simulated_nodes"]

# kwok's controller manages nodes carrying this annotation (its default --manage-nodes-with-annotation-selector).
KWOK_NODE_ANNOTATION = {"kwok.x-k8s.io/node": "fake"}
_MAX_PODS = 110
# Used when a pool names an instance type the table has no facts for.
_FALLBACK = InstanceType("unknown", vcpu=4, memory_mib=16384)


def simulated_node_name(pool: NodePoolConfig, index: int) -> str:
    return f"{pool.name.lower().replace('_', '-')}-{index}"


def simulated_nodes(pools: list[NodePoolConfig], contract: IsolationContract) -> list[dict[str, Any]]:
    """The nodes of the managed pools among `pools` (Karpenter launches an elastic pool's nodes itself)."""
    managed = [pool for pool in pools if not pool.is_elastic]
    return [_node(pool, i, contract) for pool in managed for i in range(pool.node_scaling.desired_size)]


def _node(pool: NodePoolConfig, index: int, contract: IsolationContract) -> dict[str, Any]:
    instance_type = pool.instance_types[0]
    facts = lookup(instance_type) or _FALLBACK
    if pool.is_gpu and not facts.is_gpu:
        facts = InstanceType(facts.name, facts.vcpu, facts.memory_mib, facts.arch, gpus=1)
    name = simulated_node_name(pool, index)
    taints = [t.to_k8s() for t in pool.node_taints(contract)]
    capacity = {
        "cpu": str(facts.vcpu),
        "memory": f"{facts.memory_mib}Mi",
        "pods": str(_MAX_PODS),
        "ephemeral-storage": f"{pool.effective_disk_size()}Gi",
    }
    if pool.is_gpu:
        # What the device plugin would advertise: whole GPUs, or the pool's shares or MIG devices.
        capacity.update({name: str(count) for name, count in pool.advertised_gpu_resources(facts).items()})
    labels = {
        **pool.node_labels(contract),
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64" if facts.arch == "x86_64" else "arm64",
        "node.kubernetes.io/instance-type": instance_type,
        "eks.amazonaws.com/nodegroup": pool.name,
        "eks.amazonaws.com/capacityType": pool.capacity_type,
        "type": "kwok",
    }
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": labels,
            "annotations": {**KWOK_NODE_ANNOTATION, "node.alpha.kubernetes.io/ttl": "0"},
        },
        "spec": {"taints": taints} if taints else {},
        "status": {"capacity": capacity, "allocatable": dict(capacity)},
    }
