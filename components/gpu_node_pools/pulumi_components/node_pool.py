"""`NodePool`: one EKS managed node group, with its launch template and node IAM role, from a `NodePoolConfig`."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from ..aws import PENDING_OUTPUT
from ..aws.launch_template import launch_template_data
from ..aws.nodegroup import (
    desired_size_plan,
    nodegroup_name_prefix,
    nodegroup_request,
    pool_tags,
)
from ..config.node_pool import NodePoolConfig
from ..contract import IsolationContract

__all__ = ["NODE_POOL_TYPE", "NODE_ROLE_POLICIES", "NodeGroupParts", "NodePool", "NodePoolArgs", "declare_node_group"]

NODE_POOL_TYPE = "gpu-node-pools:index:NodePool"

# The three managed policies every EKS worker node needs (EKS user guide, "Amazon EKS node IAM role").
NODE_ROLE_POLICIES = (
    "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
)
_EC2_TRUST = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
})


@dataclass(frozen=True)
class NodePoolArgs:
    """What a pool needs besides its own config. All plain values but the cluster's outputs."""

    pool: NodePoolConfig
    contract: IsolationContract
    cluster_name: pulumi.Input[str]
    subnet_ids: pulumi.Input[list[str]]
    kubernetes_version: str | None = None
    # Bottlerocket NVIDIA pools' settings (`aws.bottlerocket.bottlerocket_nvidia_settings`); others ignore them.
    bottlerocket_settings: dict[str, Any] = field(default_factory=dict)
    # The live node group's desired size (`_live_node_groups.live_desired_sizes`); None: no live group known.
    live_desired_size: int | None = None


@dataclass(frozen=True)
class NodeGroupParts:
    """What `declare_node_group` declared: the node group, its launch template and the node role's ARN."""

    node_group: aws.eks.NodeGroup
    launch_template: aws.ec2.LaunchTemplate
    node_role_arn: pulumi.Output[str]


class NodePool(pulumi.ComponentResource):
    """A managed node group and its launch template. GPU pools carry the contract's taint; desired-size drift is
    ignored unless a new scaling bound makes the live size invalid."""

    node_group: aws.eks.NodeGroup
    launch_template: aws.ec2.LaunchTemplate
    node_role_arn: pulumi.Output[str]
    node_group_name: pulumi.Output[str]

    def __init__(self, name: str, args: NodePoolArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(NODE_POOL_TYPE, name, None, opts)
        parts = declare_node_group(self, name, args)
        self.node_group, self.launch_template, self.node_role_arn = (
            parts.node_group, parts.launch_template, parts.node_role_arn)
        self.node_group_name = self.node_group.node_group_name
        self.register_outputs({
            "node_group_name": self.node_group_name,
            "node_role_arn": self.node_role_arn,
            "launch_template_id": self.launch_template.id,
        })


def declare_node_group(parent: pulumi.ComponentResource, name: str, args: NodePoolArgs) -> NodeGroupParts:
    """Declares the pool's node role (unless it names one), launch template and node group as children of `parent`
    (the Python NodePool, or the package's)."""
    pool = args.pool
    child = pulumi.ResourceOptions(parent=parent)
    depends: list[pulumi.Resource] = []
    if pool.node_role_arn:
        node_role_arn = pulumi.Output.from_input(pool.node_role_arn)
    else:
        role = aws.iam.Role(f"{name}-node", assume_role_policy=_EC2_TRUST, opts=child)
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
        **_launch_template_kwargs(launch_template_data(pool, bottlerocket_settings=args.bottlerocket_settings)),
        opts=pulumi.ResourceOptions(parent=parent, protect=pool.protect),
    )
    plan = desired_size_plan(pool, args.live_desired_size)
    if not plan.ignore_desired:
        pulumi.log.info(
            f"node pool {pool.name}: the live desired size {args.live_desired_size} is outside the new "
            f"[min, max] = [{pool.node_scaling.min}, {pool.node_scaling.max}], which EKS rejects; sending desired "
            f"size {plan.desired} instead of leaving it to the autoscaler",
            resource=parent,
        )
    request = nodegroup_request(
        pool, args.contract,
        cluster_name=PENDING_OUTPUT, subnet_ids=[PENDING_OUTPUT], node_role_arn=PENDING_OUTPUT,
        launch_template={"id": PENDING_OUTPUT, "version": PENDING_OUTPUT},
        kubernetes_version=args.kubernetes_version, desired_size=plan.desired,
    )
    node_group = aws.eks.NodeGroup(
        name,
        cluster_name=args.cluster_name,
        node_role_arn=node_role_arn,
        subnet_ids=pool.subnet_ids or args.subnet_ids,
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
    if "version" in request:
        kwargs["version"] = request["version"]
    return kwargs
