"""`NodePool`: one EKS managed node group, with its launch template and node IAM role."""

# No `from __future__ import annotations`: Pulumi's schema inference reads these annotations at runtime.

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional, Union

import pulumi
import pulumi_aws as aws

from ..aws import PENDING_OUTPUT
from ..aws.bottlerocket import bottlerocket_nvidia_settings
from ..aws.launch_template import launch_template_data
from ..aws.names import IAM_ROLE_NAME_MAX, autoname_within
from ..aws.nodegroup import (
    desired_size_plan,
    nodegroup_name_prefix,
    nodegroup_request,
    pool_tags,
)
from ..config import component_args as models
from ..config.component_args import validate_args
from ..config.device_plugin import DevicePluginConfig
from ..config.node_agent import NodeAgentConfig
from ..parts import type_token
from . import args as typed
from .in_cluster import component_source

__all__ = ["NODE_POOL_TYPE", "NODE_ROLE_POLICIES", "NodeGroupParts", "NodePool", "declare_node_group"]

NODE_POOL_TYPE = type_token("NodePool")

# The three managed policies every EKS worker node needs (EKS user guide, "Amazon EKS node IAM role"); ECR
# PullOnly rather than ReadOnly: nodes pull images and never list or describe repositories.
NODE_ROLE_POLICIES = (
    "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly",
)
_EC2_TRUST = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
})

if TYPE_CHECKING:
    # The args model or its TypedDict for a type checker; the TypedDict alone at runtime (the package schema).
    NodePoolInput = Union[typed.NodePoolArgs, models.NodePoolArgs]
else:
    NodePoolInput = typed.NodePoolArgs


@dataclass(frozen=True)
class NodeGroupParts:
    """What `declare_node_group` declared: the node group, its launch template and the node role's ARN."""

    node_group: aws.eks.NodeGroup
    launch_template: aws.ec2.LaunchTemplate
    node_role_arn: pulumi.Output[str]


class NodePool(pulumi.ComponentResource):
    """An EKS managed node group with its launch template and node IAM role. GPU pools carry the GPU taint; the
    desired size is left to the autoscaler after creation, unless a new scaling bound makes the live size invalid."""

    node_group_name: pulumi.Output[str]
    """the EKS node group's name"""
    node_role_arn: pulumi.Output[str]
    """the ARN of the nodes' IAM role"""
    launch_template_id: pulumi.Output[str]
    """the launch template's id"""
    gpu_taint: Optional[pulumi.Output[str]]
    """the GPU taint the nodes carry (GPU pools only), as key=value:Effect"""

    def __init__(
        self,
        name: str,
        args: NodePoolInput,
        opts: Optional[pulumi.ResourceOptions] = None,
        *,
        bottlerocket_settings: Optional[dict[str, Any]] = None,
        live_desired_size: Optional[int] = None,
    ) -> None:
        """`bottlerocket_settings`: what Bottlerocket NVIDIA nodes get (`aws.bottlerocket.bottlerocket_nvidia_settings`;
        default: those of the default device plugin and node agent). `live_desired_size`: the live group's desired
        size, when one is known (`GpuPlatform` reads it by pool tag)."""
        super().__init__(NODE_POOL_TYPE, name, None, opts)
        pool = validate_args(models.NodePoolArgs, args, component_source(self, name))
        if bottlerocket_settings is None:
            bottlerocket_settings = bottlerocket_nvidia_settings(DevicePluginConfig(), NodeAgentConfig())
        parts = declare_node_group(
            self, name, pool, bottlerocket_settings=bottlerocket_settings, live_desired_size=live_desired_size)
        self.node_group, self.launch_template = parts.node_group, parts.launch_template
        self.node_group_name = parts.node_group.node_group_name
        self.node_role_arn = parts.node_role_arn
        self.launch_template_id = parts.launch_template.id
        contract = pool.isolation.contract()
        self.gpu_taint = pulumi.Output.from_input(str(contract.gpu_taint)) if pool.kind == "gpu" else None
        self.register_outputs({"node_group_name": self.node_group_name, "node_role_arn": self.node_role_arn,
                               "launch_template_id": self.launch_template_id, "gpu_taint": self.gpu_taint})


def declare_node_group(
    parent: pulumi.ComponentResource,
    name: str,
    pool: models.NodePoolArgs,
    *,
    bottlerocket_settings: dict[str, Any],
    live_desired_size: Optional[int],
) -> NodeGroupParts:
    """Declares the pool's node role (unless it names one), launch template and node group as children of
    `parent`."""
    child = pulumi.ResourceOptions(parent=parent)
    depends: list[pulumi.Resource] = []
    if pool.node_role_arn:
        node_role_arn = pulumi.Output.from_input(pool.node_role_arn)
    else:
        role = aws.iam.Role(
            autoname_within(f"{name}-node", IAM_ROLE_NAME_MAX), assume_role_policy=_EC2_TRUST, opts=child
        )
        depends = [
            aws.iam.RolePolicyAttachment(
                f"{name}-node-{arn.rsplit('/', 1)[1]}", role=role.name, policy_arn=arn, opts=child
            )
            for arn in NODE_ROLE_POLICIES
        ]
        node_role_arn = role.arn

    launch_template = aws.ec2.LaunchTemplate(
        name,
        tags={**pool_tags(pool), **pool.tags},
        **_launch_template_kwargs(launch_template_data(pool, bottlerocket_settings=bottlerocket_settings)),
        opts=pulumi.ResourceOptions(parent=parent, protect=pool.protect),
    )
    plan = desired_size_plan(pool, live_desired_size)
    if not plan.ignore_desired:
        pulumi.log.info(
            f"node pool {pool.name}: the live desired size {live_desired_size} is outside the new "
            f"[min, max] = [{pool.node_scaling.min}, {pool.node_scaling.max}], which EKS rejects; sending desired "
            f"size {plan.desired} instead of leaving it to the autoscaler",
            resource=parent,
        )
    request = nodegroup_request(
        pool, pool.isolation.contract(),
        cluster_name=PENDING_OUTPUT, subnet_ids=[PENDING_OUTPUT], node_role_arn=PENDING_OUTPUT,
        launch_template={"id": PENDING_OUTPUT, "version": PENDING_OUTPUT},
        kubernetes_version=pool.kubernetes_version, desired_size=plan.desired,
    )
    node_group = aws.eks.NodeGroup(
        name,
        cluster_name=pool.cluster_name,
        node_role_arn=node_role_arn,
        subnet_ids=pool.subnet_ids,
        node_group_name_prefix=nodegroup_name_prefix(pool),
        # A new template version rolls the group's nodes, honouring its update config.
        launch_template={
            "id": launch_template.id,
            "version": launch_template.latest_version.apply(str),
        },
        **_nodegroup_kwargs(request),
        opts=pulumi.ResourceOptions(
            parent=parent,
            depends_on=depends,
            # The cluster autoscaler owns the node count once the group exists.
            ignore_changes=["scalingConfig.desiredSize"] if plan.ignore_desired else [],
            protect=pool.protect,
        ),
    )
    return NodeGroupParts(node_group, launch_template, node_role_arn)


def _launch_template_kwargs(data: dict[str, Any]) -> dict[str, Any]:
    """EC2 `LaunchTemplateData` as `aws.ec2.LaunchTemplate` arguments (the provider spells booleans as strings)."""
    metadata = data["MetadataOptions"]
    kwargs: dict[str, Any] = {
        "metadata_options": {
            "http_tokens": metadata["HttpTokens"],
            "http_put_response_hop_limit": metadata["HttpPutResponseHopLimit"],
            "http_endpoint": metadata["HttpEndpoint"],
        },
        "block_device_mappings": [
            {
                "device_name": mapping["DeviceName"],
                "ebs": {
                    "volume_type": mapping["Ebs"]["VolumeType"],
                    "volume_size": mapping["Ebs"].get("VolumeSize"),
                    "encrypted": str(mapping["Ebs"]["Encrypted"]).lower(),
                    "delete_on_termination": str(mapping["Ebs"]["DeleteOnTermination"]).lower(),
                },
            }
            for mapping in data["BlockDeviceMappings"]
        ],
        "tag_specifications": [
            {"resource_type": spec["ResourceType"], "tags": {t["Key"]: t["Value"] for t in spec["Tags"]}}
            for spec in data["TagSpecifications"]
        ],
    }
    if "InstanceMarketOptions" in data:
        kwargs["instance_market_options"] = {"market_type": data["InstanceMarketOptions"]["MarketType"]}
    if "CapacityReservationSpecification" in data:
        target = data["CapacityReservationSpecification"]["CapacityReservationTarget"]
        kwargs["capacity_reservation_specification"] = {
            "capacity_reservation_target": {"capacity_reservation_id": target["CapacityReservationId"]}
        }
    if "UserData" in data:
        kwargs["user_data"] = data["UserData"]
    return kwargs


def _nodegroup_kwargs(request: dict[str, Any]) -> dict[str, Any]:
    """The EKS request's plain fields as `aws.eks.NodeGroup` arguments (name and launch template are outputs)."""
    scaling = request["scalingConfig"]
    update = request["updateConfig"]
    kwargs: dict[str, Any] = {
        "instance_types": request["instanceTypes"],
        "ami_type": request["amiType"],
        "capacity_type": request["capacityType"],
        "labels": request["labels"],
        "taints": request["taints"],
        "tags": request["tags"],
        "scaling_config": {
            "min_size": scaling["minSize"],
            "max_size": scaling["maxSize"],
            "desired_size": scaling["desiredSize"],
        },
        "update_config": {
            "max_unavailable": update.get("maxUnavailable"),
            "max_unavailable_percentage": update.get("maxUnavailablePercentage"),
        },
    }
    if "nodeRepairConfig" in request:
        kwargs["node_repair_config"] = {"enabled": request["nodeRepairConfig"]["enabled"]}
    if "version" in request:
        kwargs["version"] = request["version"]
    return kwargs
