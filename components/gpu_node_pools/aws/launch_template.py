"""A node pool's EC2 launch template, in the shape of EC2 CreateLaunchTemplate's `LaunchTemplateData`.

Every pool gets one, because the defaults EKS would otherwise choose are not the ones we want:
- IMDSv2 only, with a hop limit of 1, so a pod (one network hop further) can't read the node role's credentials;
- a gp3, encrypted data volume of the pool's `diskSize` on the device its AMI family keeps data on;
- the pool's identity and `instanceTags` on its instances and volumes;
- for CAPACITY_BLOCK pools, the Capacity Block to launch into (EKS requires it in a launch template);
- for Bottlerocket NVIDIA pools, the Bottlerocket settings of the platform's device-plugin and node-agent config;
- for MIG pools, the boot script that applies the pool's MIG layout (`aws.mig_user_data`).

Instance types, AMI type, disk size and subnets stay in the node group request or here, never both: EKS rejects
a launch template that repeats what the request says (`diskSize` moved here as `BlockDeviceMappings`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..config.node_pool import NodePoolConfig
from ..facts.instance_types import lookup
from ..facts.mig import mig_gpu
from .bottlerocket import bottlerocket_user_data
from .mig_user_data import mig_user_data
from .nodegroup import pool_tags

__all__ = ["IMDS_OPTIONS", "launch_template_data"]

IMDS_OPTIONS: dict[str, Any] = {"HttpTokens": "required", "HttpPutResponseHopLimit": 1, "HttpEndpoint": "enabled"}
_VOLUME = {"VolumeType": "gp3", "Encrypted": True, "DeleteOnTermination": True}


def launch_template_data(
    pool: NodePoolConfig, *, bottlerocket_settings: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """`LaunchTemplateData` for `pool`. `bottlerocket_settings` (see `aws.bottlerocket`) applies to Bottlerocket
    NVIDIA pools only: other images don't know those settings."""
    ami = pool.ami()
    devices = ami.devices
    tags = [{"Key": k, "Value": v} for k, v in {**pool_tags(pool), **pool.instance_tags}.items()]
    data: dict[str, Any] = {
        "MetadataOptions": dict(IMDS_OPTIONS),
        "BlockDeviceMappings": _block_devices(devices.os_device, devices.data_device, pool.effective_disk_size()),
        "TagSpecifications": [{"ResourceType": kind, "Tags": tags} for kind in ("instance", "volume")],
    }
    if pool.capacity_type == "CAPACITY_BLOCK":
        data["InstanceMarketOptions"] = {"MarketType": "capacity-block"}
        data["CapacityReservationSpecification"] = {
            "CapacityReservationTarget": {"CapacityReservationId": pool.capacity_reservation_id}
        }
    user_data = bottlerocket_user_data(bottlerocket_settings or {}) if ami.ships_device_plugin else None
    mig = pool.sharing.mig if pool.sharing is not None else None
    if mig is not None:
        # Validation made every type known and of one MIG-capable model.
        facts = lookup(pool.instance_types[0])
        gpu = mig_gpu(facts.gpu_model) if facts else None
        assert gpu is not None
        user_data = mig_user_data(mig, gpu)
    if user_data:
        data["UserData"] = user_data
    return data


def _block_devices(os_device: str, data_device: str, size_gib: int) -> list[dict[str, Any]]:
    data = {"DeviceName": data_device, "Ebs": {**_VOLUME, "VolumeSize": size_gib}}
    if os_device == data_device:
        return [data]
    # A separate OS volume keeps its image's size; it is only made gp3 and encrypted.
    return [{"DeviceName": os_device, "Ebs": dict(_VOLUME)}, data]
