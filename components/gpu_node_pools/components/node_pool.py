"""`NodePool`: one EKS managed node group, with its node IAM role, declared from a `NodePoolConfig`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from ..config.node_pool import NodePoolConfig
from ..contract import IsolationContract
from ..aws.nodegroup import nodegroup_request

__all__ = ["NODE_ROLE_POLICIES", "NodePool", "NodePoolArgs"]

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
# Placeholders for values that are Pulumi outputs; the request's other fields are plain data.
_LATER = "<output>"


@dataclass(frozen=True)
class NodePoolArgs:
    pool: NodePoolConfig
    contract: IsolationContract
    cluster_name: pulumi.Input[str]
    subnet_ids: pulumi.Input[list[str]]
    kubernetes_version: str | None = None


class NodePool(pulumi.ComponentResource):
    """A managed node group. GPU pools carry the contract's taint; desired-size drift is ignored."""

    node_group: aws.eks.NodeGroup
    node_role_arn: pulumi.Output[str]
    node_group_name: pulumi.Output[str]

    def __init__(self, name: str, args: NodePoolArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("gpu-node-pools:index:NodePool", name, None, opts)
        pool = args.pool
        child = pulumi.ResourceOptions(parent=self)
        depends: list[pulumi.Resource] = []
        if pool.node_role_arn:
            self.node_role_arn = pulumi.Output.from_input(pool.node_role_arn)
        else:
            role = aws.iam.Role(f"{name}-node", assume_role_policy=_EC2_TRUST, opts=child)
            depends = [
                aws.iam.RolePolicyAttachment(
                    f"{name}-node-{arn.rsplit('/', 1)[1]}", role=role.name, policy_arn=arn, opts=child
                )
                for arn in NODE_ROLE_POLICIES
            ]
            self.node_role_arn = role.arn

        request = nodegroup_request(
            pool, args.contract, cluster_name=_LATER, subnet_ids=[_LATER], node_role_arn=_LATER,
            kubernetes_version=args.kubernetes_version,
        )
        self.node_group = aws.eks.NodeGroup(
            name,
            cluster_name=args.cluster_name,
            node_role_arn=self.node_role_arn,
            subnet_ids=pool.subnet_ids or args.subnet_ids,
            **_nodegroup_kwargs(request),
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=depends,
                # The cluster autoscaler owns the node count once the group exists.
                ignore_changes=["scalingConfig.desiredSize"],
                protect=pool.protect,
            ),
        )
        self.node_group_name = self.node_group.node_group_name
        self.register_outputs({"node_group_name": self.node_group_name, "node_role_arn": self.node_role_arn})


def _nodegroup_kwargs(request: dict[str, Any]) -> dict[str, Any]:
    """The EKS request's plain fields as `aws.eks.NodeGroup` arguments."""
    scaling = request["scalingConfig"]
    update = request["updateConfig"]
    kwargs: dict[str, Any] = {
        "node_group_name": request["nodegroupName"],
        "instance_types": request["instanceTypes"],
        "ami_type": request["amiType"],
        "capacity_type": request["capacityType"],
        "disk_size": request["diskSize"],
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
