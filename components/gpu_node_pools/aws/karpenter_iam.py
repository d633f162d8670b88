"""Karpenter's IAM on EKS as data: the controller's policies, its Pod Identity trust, and its nodes' role.

The controller policies are Karpenter's own, statement for statement (less `OMITTED_STATEMENTS`), from the
CloudFormation template its getting-started guide ships for this release (aws/karpenter-provider-aws,
website/content/en/<version>/getting-started/getting-started-with-karpenter/cloudformation.yaml): six managed
policies, with every mutating EC2 and IAM action scoped to resources tagged for this cluster
(`kubernetes.io/cluster/<name>: owned`, `karpenter.sh/nodepool`, `karpenter.k8s.aws/ec2nodeclass`), so the
controller can launch, tag and terminate only what it launched itself.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

__all__ = [
    "CONTROLLER_POLICY_NAMES",
    "ClusterIdentity",
    "KARPENTER_NODE_ROLE_POLICIES",
    "OMITTED_STATEMENTS",
    "add_role_to_instance_profile_request",
    "attach_role_policy_request",
    "cluster_identity",
    "controller_policies",
    "create_instance_profile_request",
    "create_policy_request",
    "create_role_request",
    "node_trust_policy",
    "pod_identity_trust_policy",
]

# Upstream's node role less AmazonSSMManagedInstanceCore (remote shell on GPU nodes is not a default we want).
KARPENTER_NODE_ROLE_POLICIES = (
    "AmazonEKSWorkerNodePolicy",
    "AmazonEKS_CNI_Policy",
    "AmazonEC2ContainerRegistryPullOnly",
)
# Upstream statements left out, by Sid, with why: the EC2NodeClass names the instance profile the stack creates
# (`instanceProfile`, not `role`), so Karpenter never makes, tags, fills or deletes one.
OMITTED_STATEMENTS = {
    "AllowScopedInstanceProfileCreationActions": "iam:CreateInstanceProfile: Karpenter is given a pre-made profile",
    "AllowScopedInstanceProfileTagActions": "iam:TagInstanceProfile: it tags no profile it didn't create",
    "AllowScopedInstanceProfileActions": "iam:Add/RemoveRoleToInstanceProfile, iam:DeleteInstanceProfile: the "
    "stack owns the profile and its role",
}
# The upstream template's policy names, less its `KarpenterController` prefix and `-<cluster>` suffix.
CONTROLLER_POLICY_NAMES = (
    "NodeLifecycle", "IAMIntegration", "EKSIntegration", "Interruption", "ZonalShift", "ResourceDiscovery",
)
_VERSION = "2012-10-17"


class ClusterIdentity(NamedTuple):
    """Where a cluster lives, read from its ARN: what the policy's resource ARNs are built from."""

    partition: str
    region: str
    account_id: str
    name: str


def cluster_identity(cluster_arn: str) -> ClusterIdentity:
    """`arn:<partition>:eks:<region>:<account>:cluster/<name>` split into its parts."""
    parts = cluster_arn.split(":", 5)
    if len(parts) != 6 or parts[2] != "eks" or not parts[5].startswith("cluster/"):
        raise ValueError(f"{cluster_arn!r} is not an EKS cluster ARN")
    return ClusterIdentity(parts[1], parts[3], parts[4], parts[5].removeprefix("cluster/"))


def pod_identity_trust_policy() -> dict[str, Any]:
    """EKS Pod Identity's trust: the agent assumes the role for the associated service account, and tags the
    session with the pod's cluster, namespace and service account (why sts:TagSession is needed)."""
    return {
        "Version": _VERSION,
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "pods.eks.amazonaws.com"},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
        }],
    }


def node_trust_policy() -> dict[str, Any]:
    return {
        "Version": _VERSION,
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }


def controller_policies(
    cluster: ClusterIdentity, *, node_role_arn: str, queue_arn: str | None
) -> dict[str, dict[str, Any]]:
    """The controller's policy documents by `CONTROLLER_POLICY_NAMES` name; no Interruption policy without a queue."""
    p, region, account, name = cluster
    ec2 = f"arn:{p}:ec2:{region}"
    owned = {f"aws:ResourceTag/kubernetes.io/cluster/{name}": "owned"}
    request_owned = {f"aws:RequestTag/kubernetes.io/cluster/{name}": "owned", "aws:RequestTag/eks:eks-cluster-name": name}
    any_nodepool = {"aws:ResourceTag/karpenter.sh/nodepool": "*"}
    request_nodepool = {"aws:RequestTag/karpenter.sh/nodepool": "*"}
    launched = [f"{ec2}:*:{kind}/*" for kind in (
        "fleet", "instance", "volume", "network-interface", "launch-template", "spot-instances-request")]
    profiles = f"arn:{p}:iam::{account}:instance-profile/*"
    cluster_arn = f"arn:{p}:eks:{region}:{account}:cluster/{name}"
    policies: dict[str, list[dict[str, Any]]] = {
        "NodeLifecycle": [
            _allow("AllowScopedEC2InstanceAccessActions", ["ec2:RunInstances", "ec2:CreateFleet"], [
                f"{ec2}::image/*", f"{ec2}::snapshot/*", f"{ec2}:*:security-group/*", f"{ec2}:*:subnet/*",
                f"{ec2}:*:capacity-reservation/*", f"{ec2}:*:placement-group/*",
            ]),
            _allow("AllowScopedEC2LaunchTemplateAccessActions", ["ec2:RunInstances", "ec2:CreateFleet"],
                   f"{ec2}:*:launch-template/*", StringEquals=owned, StringLike=any_nodepool),
            _allow("AllowScopedEC2InstanceActionsWithTags",
                   ["ec2:RunInstances", "ec2:CreateFleet", "ec2:CreateLaunchTemplate"], launched,
                   StringEquals=request_owned, StringLike=request_nodepool),
            _allow("AllowScopedResourceCreationTagging", "ec2:CreateTags", launched,
                   StringEquals={**request_owned, "ec2:CreateAction": ["RunInstances", "CreateFleet",
                                                                       "CreateLaunchTemplate"]},
                   StringLike=request_nodepool),
            _allow("AllowScopedResourceTagging", "ec2:CreateTags", f"{ec2}:*:instance/*",
                   StringEquals=owned, StringLike=any_nodepool,
                   StringEqualsIfExists={"aws:RequestTag/eks:eks-cluster-name": name},
                   **{"ForAllValues:StringEquals": {"aws:TagKeys": ["eks:eks-cluster-name", "karpenter.sh/nodeclaim",
                                                                    "Name"]}}),
            _allow("AllowScopedDeletion", ["ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"],
                   [f"{ec2}:*:instance/*", f"{ec2}:*:launch-template/*"],
                   StringEquals=owned, StringLike=any_nodepool),
        ],
        "IAMIntegration": [
            _allow("AllowPassingInstanceRole", "iam:PassRole", node_role_arn,
                   StringEquals={"iam:PassedToService": ["ec2.amazonaws.com", "ec2.amazonaws.com.cn"]}),
        ],
        "EKSIntegration": [_allow("AllowAPIServerEndpointDiscovery", "eks:DescribeCluster", cluster_arn)],
        "ZonalShift": [
            _allow("AllowZonalShiftStatusReadOnly", ["arc-zonal-shift:GetManagedResource"], "*",
                   StringEquals={"arc-zonal-shift:ResourceIdentifier": cluster_arn}),
        ],
        "ResourceDiscovery": [
            _allow("AllowRegionalReadActions", [
                "ec2:DescribeCapacityReservations", "ec2:DescribeImages", "ec2:DescribeInstances",
                "ec2:DescribeInstanceStatus", "ec2:DescribeInstanceTypeOfferings", "ec2:DescribeInstanceTypes",
                "ec2:DescribeLaunchTemplates", "ec2:DescribePlacementGroups", "ec2:DescribeSecurityGroups",
                "ec2:DescribeSpotPriceHistory", "ec2:DescribeSubnets",
            ], "*", StringEquals={"aws:RequestedRegion": region}),
            _allow("AllowSSMReadActions", "ssm:GetParameter", f"arn:{p}:ssm:{region}::parameter/aws/service/*"),
            _allow("AllowPricingReadActions", "pricing:GetProducts", "*"),
            _allow("AllowUnscopedInstanceProfileListAction", "iam:ListInstanceProfiles", "*"),
            _allow("AllowInstanceProfileReadActions", "iam:GetInstanceProfile", profiles),
        ],
    }
    if queue_arn is not None:
        policies["Interruption"] = [_allow(
            "AllowInterruptionQueueActions", ["sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"], queue_arn
        )]
    return {n: {"Version": _VERSION, "Statement": policies[n]} for n in CONTROLLER_POLICY_NAMES if n in policies}


def _allow(sid: str, action: str | list[str], resource: str | list[str], **condition: Any) -> dict[str, Any]:
    statement: dict[str, Any] = {"Sid": sid, "Effect": "Allow", "Resource": resource, "Action": action}
    if condition:
        statement["Condition"] = condition
    return statement


# --- the IAM API requests (botocore's shapes) ------------------------------------------------------------------
def create_role_request(name: str, trust: dict[str, Any], description: str) -> dict[str, Any]:
    return {"RoleName": name, "AssumeRolePolicyDocument": json.dumps(trust), "Description": description}


def create_policy_request(name: str, document: dict[str, Any], description: str) -> dict[str, Any]:
    return {"PolicyName": name, "PolicyDocument": json.dumps(document), "Description": description}


def attach_role_policy_request(role_name: str, policy_arn: str) -> dict[str, Any]:
    return {"RoleName": role_name, "PolicyArn": policy_arn}


def create_instance_profile_request(name: str) -> dict[str, Any]:
    return {"InstanceProfileName": name}


def add_role_to_instance_profile_request(profile_name: str, role_name: str) -> dict[str, Any]:
    return {"InstanceProfileName": profile_name, "RoleName": role_name}
