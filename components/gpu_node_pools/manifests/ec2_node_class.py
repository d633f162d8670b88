"""The EC2NodeClass every elastic GPU pool launches with: how a Karpenter node boots on EKS.

An elastic MIG pool gets its own class from the same builder: the same spec, plus `userData` (the MIME document
that applies its MIG layout at boot, `aws.mig_user_data.mig_mime_document`), so the IAM, network and disks are the
shared class's.

Karpenter's own GPU example (aws/karpenter-provider-aws examples/workloads/gpu-nvidia.yaml) with our defaults:
- an AL2023 AMI alias; Karpenter picks the release's NVIDIA variant for NVIDIA instance types (the device plugin
  is still ours: AL2023 NVIDIA images ship drivers, not the plugin);
- the cluster's subnets and the cluster security group (the one EKS gives managed nodes) selected by id: the stack
  knows them, and a discovery tag on subnets it doesn't own would be shared with (and stripped by) any other stack
  in the same VPC;
- IMDSv2 only, hop limit 1, as on our managed pools (`aws.launch_template.IMDS_OPTIONS`): a pod, one network hop
  further than the node, can't read the node role's credentials;
- one gp3, encrypted root volume sized for GPU images (AL2023 keeps images on its root volume, /dev/xvda);
- an instance profile we create for the node role (`instanceProfile`, not `role`, so Karpenter creates no IAM).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..config.karpenter import EC2_NODE_CLASS_NAME, NodeClassConfig

__all__ = ["EC2_NODE_CLASS_API_VERSION", "build_ec2_node_class"]

EC2_NODE_CLASS_API_VERSION = "karpenter.k8s.aws/v1"
_ROOT_DEVICE = "/dev/xvda"  # AL2023's root device (facts.amis: al2023 keeps data on its OS volume)


def build_ec2_node_class(
    config: NodeClassConfig, *, instance_profile: Any, subnet_ids: Sequence[str], security_group_id: Any,
    name: str = EC2_NODE_CLASS_NAME, user_data: str | None = None,
) -> dict[str, Any]:
    """The EC2NodeClass `name` (default: the shared `gpu-node-pools`), with `user_data` when given.
    `instance_profile` (the profile's name) and `security_group_id` (the cluster security group's) are Pulumi
    outputs when deployed."""
    node_class: dict[str, Any] = {
        "apiVersion": EC2_NODE_CLASS_API_VERSION,
        "kind": "EC2NodeClass",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/managed-by": "gpu-node-pools"}},
        "spec": {
            "amiSelectorTerms": [{"alias": config.ami_alias}],
            "instanceProfile": instance_profile,
            "subnetSelectorTerms": [{"id": subnet} for subnet in subnet_ids],
            "securityGroupSelectorTerms": [{"id": security_group_id}],
            "metadataOptions": {
                "httpEndpoint": "enabled",
                "httpProtocolIPv6": "disabled",
                "httpPutResponseHopLimit": 1,
                "httpTokens": "required",
            },
            "blockDeviceMappings": [{
                "deviceName": _ROOT_DEVICE,
                "rootVolume": True,
                "ebs": {
                    "volumeSize": f"{config.root_volume_size}Gi",
                    "volumeType": "gp3",
                    "encrypted": True,
                    "deleteOnTermination": True,
                },
            }],
            "tags": {"gpu-node-pools.io/node-class": name, **config.tags},
        },
    }
    if user_data is not None:
        node_class["spec"]["userData"] = user_data
    return node_class
