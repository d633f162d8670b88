"""The instance types the local Karpenter (its kwok cloud provider) may launch, from our instance-type table.

Karpenter's kwok provider reads them from the JSON file named by `INSTANCE_TYPES_FILE_PATH`: per type its
resources and its offerings (a price in a zone for a capacity type). Any label key in an offering's requirements
becomes a well-known label that Karpenter matches NodePool requirements against and stamps on the node, so the
AWS keys our NodePool requires (`karpenter.k8s.aws/instance-gpu-manufacturer`, `.../instance-family`) work here
exactly as on EKS: the local NodePool is the EKS one with another nodeClassRef.

A shared elastic pool's nodes advertise shares (`nvidia.com/gpu` x replicas, or MIG devices), and Karpenter plans
with what an instance type advertises, so each shared pool gets its own copies of the types it may launch, named
`<type>.<config>`, advertising what the pool's sharing makes a node advertise. Offerings carry the sharing labels
a NodePool selects by (`gpu-node-pools.io/gpu-sharing`: `none` on whole-GPU types; plus the pool's
`nvidia.com/device-plugin.config` on its copies), so a shared pool launches only its copies and a whole-GPU pool
never does. Such a pool selects its types by `elastic.instanceFamilies` locally: a NodePool listing type names
matches only the table's own names.
"""

from __future__ import annotations

from typing import Any

from ..config.elastic import allowed_instance_types
from ..config.karpenter import DEFAULT_ROOT_VOLUME_GIB
from ..config.node_pool import NodePoolConfig
from ..config.sharing import DEVICE_PLUGIN_CONFIG_LABEL, GPU_SHARING_LABEL
from ..facts.instance_types import GPU_MANUFACTURER, INSTANCE_TYPES, InstanceType
from .karpenter import (
    AUTO_MODE_LABELS,
    CAPACITY_TYPE_LABEL,
    GPU_COUNT_LABEL,
    GPU_MANUFACTURER_LABEL,
    INSTANCE_FAMILY_LABEL,
)

__all__ = ["LOCAL_ZONES", "kwok_instance_types", "shared_type_name"]

# The local cluster's pretend zones (the region the table's prices are from).
LOCAL_ZONES = ("us-west-2a", "us-west-2b", "us-west-2c")
ZONE_LABEL = "topology.kubernetes.io/zone"
_MAX_PODS = 110
_ARCH = {"x86_64": "amd64", "arm64": "arm64"}


def kwok_instance_types(
    types: dict[str, InstanceType] | None = None, zones: tuple[str, ...] = LOCAL_ZONES,
    pools: list[NodePoolConfig] | None = None,
) -> list[dict[str, Any]]:
    """Every type of the table (default), each offered on-demand and as spot in every zone at the table's prices;
    then, for each shared elastic pool among `pools`, its copies of the types it may launch.

    General-purpose types are offered too, for general pools: the NodePools' requirements, not this list, keep each
    kind out of the other's pools. As on EKS, only GPU types carry the GPU count and manufacturer labels.
    """
    plain = [_instance_type(t, zones) for t in (INSTANCE_TYPES if types is None else types).values()]
    return plain + [
        _instance_type(t, zones, pool)
        for pool in pools or [] if pool.elastic is not None and pool.sharing is not None
        for t in allowed_instance_types(pool.elastic, pool.instance_types)
    ]


def shared_type_name(type_name: str, pool: NodePoolConfig) -> str:
    """A shared pool's copy of an instance type, as the local Karpenter names it."""
    return f"{type_name}.{pool.device_plugin_config_name}"


def _instance_type(facts: InstanceType, zones: tuple[str, ...], pool: NodePoolConfig | None = None
                   ) -> dict[str, Any]:
    # Ephemeral storage as on EKS, where Karpenter takes it from the EC2NodeClass's root volume: without it no
    # launched node could hold a pod that requests some (the GPU daemons do).
    resources = {"cpu": str(facts.vcpu), "memory": f"{facts.memory_mib}Mi", "pods": str(_MAX_PODS),
                 "ephemeral-storage": f"{DEFAULT_ROOT_VOLUME_GIB}Gi"}
    labels = {INSTANCE_FAMILY_LABEL: facts.family}
    if facts.is_gpu:
        advertised = pool.advertised_gpu_resources(facts) if pool else {"nvidia.com/gpu": facts.gpus}
        resources.update({name: str(count) for name, count in advertised.items()})
        labels.update({GPU_MANUFACTURER_LABEL: GPU_MANUFACTURER, GPU_COUNT_LABEL: str(facts.gpus)})
        if pool is not None and pool.sharing is not None:
            labels.update({GPU_SHARING_LABEL: pool.sharing.mechanism,
                           DEVICE_PLUGIN_CONFIG_LABEL: pool.device_plugin_config_name})
        else:
            labels[GPU_SHARING_LABEL] = "none"
    # EKS Auto Mode's names for the same facts, so Auto Mode NodePools run here unchanged but for their NodeClass.
    labels.update({AUTO_MODE_LABELS[key]: value for key, value in list(labels.items()) if key in AUTO_MODE_LABELS})
    offerings = [
        {
            # The provider's JSON keys are the Go field names of its offering struct, capitalised.
            "Price": price,
            "Available": True,
            "Requirements": [
                _in(CAPACITY_TYPE_LABEL, capacity_type),
                _in(ZONE_LABEL, zone),
                *(_in(key, value) for key, value in labels.items()),
            ],
        }
        for zone in zones
        for capacity_type, price in (("on-demand", facts.usd_hour), ("spot", facts.spot_usd_hour))
    ]
    return {
        "name": shared_type_name(facts.name, pool) if pool else facts.name,
        "architecture": _ARCH[facts.arch],
        "operatingSystems": ["linux"],
        "resources": resources,
        "offerings": offerings,
    }


def _in(key: str, value: str) -> dict[str, Any]:
    return {"key": key, "operator": "In", "values": [value]}
