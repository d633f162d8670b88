"""The IAM permissions the identity running `pulumi up` needs, from the AWS resource types a stack declares.

One row per resource type: the actions pulumi-aws calls to create, read, update, tag and delete it; one row per
lookup the components make. `scripts/deployer_policy.py` runs the shipped stacks under mocks and writes
`docs/deployer-policy.json` from the rows of the types they declare; a test fails when a declared type has no row.
Resources are `*`: names come from the stack, so a narrower policy is the user's to write from this one. The two
actions that hand AWS a role or create one carry the conditions that keep them to EKS and EC2.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = [
    "LOOKUP_ACTIONS",
    "PASS_ROLE_SERVICES",
    "PERMISSION_ONLY_ACTIONS",
    "RESOURCE_ACTIONS",
    "SERVICE_LINKED_ROLE_SERVICES",
    "deployer_policy",
]

_TAGS_EKS = ("eks:TagResource", "eks:UntagResource", "eks:ListTagsForResource")
_TAGS_EC2 = ("ec2:CreateTags", "ec2:DeleteTags")

RESOURCE_ACTIONS: dict[str, tuple[str, ...]] = {
    # EKS validates the Secrets key with the caller's own rights, and creates its service-linked role on first use.
    "aws:eks/cluster:Cluster": (
        "eks:CreateCluster", "eks:DescribeCluster", "eks:UpdateClusterConfig", "eks:UpdateClusterVersion",
        "eks:DescribeUpdate", "eks:DeleteCluster", *_TAGS_EKS, "iam:PassRole", "iam:CreateServiceLinkedRole",
        "kms:CreateGrant", "kms:DescribeKey",
    ),
    "aws:eks/nodeGroup:NodeGroup": (
        "eks:CreateNodegroup", "eks:DescribeNodegroup", "eks:UpdateNodegroupConfig", "eks:UpdateNodegroupVersion",
        "eks:DescribeUpdate", "eks:DeleteNodegroup", *_TAGS_EKS, "iam:PassRole", "iam:CreateServiceLinkedRole",
        "ec2:DescribeLaunchTemplateVersions",
    ),
    "aws:eks/addon:Addon": (
        "eks:CreateAddon", "eks:DescribeAddon", "eks:UpdateAddon", "eks:DeleteAddon", "eks:DescribeUpdate",
        *_TAGS_EKS,
    ),
    "aws:eks/accessEntry:AccessEntry": (
        "eks:CreateAccessEntry", "eks:DescribeAccessEntry", "eks:UpdateAccessEntry", "eks:DeleteAccessEntry",
        *_TAGS_EKS,
    ),
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": (
        "eks:AssociateAccessPolicy", "eks:ListAssociatedAccessPolicies", "eks:DisassociateAccessPolicy",
    ),
    "aws:eks/podIdentityAssociation:PodIdentityAssociation": (
        "eks:CreatePodIdentityAssociation", "eks:DescribePodIdentityAssociation",
        "eks:UpdatePodIdentityAssociation", "eks:DeletePodIdentityAssociation", *_TAGS_EKS, "iam:PassRole",
        "iam:GetRole",
    ),
    "aws:ec2/launchTemplate:LaunchTemplate": (
        "ec2:CreateLaunchTemplate", "ec2:CreateLaunchTemplateVersion", "ec2:ModifyLaunchTemplate",
        "ec2:DescribeLaunchTemplates", "ec2:DescribeLaunchTemplateVersions", "ec2:DeleteLaunchTemplate", *_TAGS_EC2,
    ),
    # pulumi-aws revokes a new group's default egress rule; a delete waits for the group's network interfaces.
    "aws:ec2/securityGroup:SecurityGroup": (
        "ec2:CreateSecurityGroup", "ec2:DescribeSecurityGroups", "ec2:RevokeSecurityGroupEgress",
        "ec2:RevokeSecurityGroupIngress", "ec2:DescribeNetworkInterfaces", "ec2:DeleteSecurityGroup", *_TAGS_EC2,
    ),
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": (
        "ec2:AuthorizeSecurityGroupIngress", "ec2:DescribeSecurityGroupRules", "ec2:ModifySecurityGroupRules",
        "ec2:RevokeSecurityGroupIngress", *_TAGS_EC2,
    ),
    "aws:iam/role:Role": (
        "iam:CreateRole", "iam:GetRole", "iam:UpdateRole", "iam:UpdateAssumeRolePolicy", "iam:DeleteRole",
        "iam:TagRole", "iam:UntagRole", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies",
        "iam:ListInstanceProfilesForRole",
    ),
    "aws:iam/rolePolicy:RolePolicy": ("iam:PutRolePolicy", "iam:GetRolePolicy", "iam:DeleteRolePolicy"),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": (
        "iam:AttachRolePolicy", "iam:ListAttachedRolePolicies", "iam:DetachRolePolicy",
    ),
    "aws:iam/policy:Policy": (
        "iam:CreatePolicy", "iam:GetPolicy", "iam:GetPolicyVersion", "iam:ListPolicyVersions",
        "iam:CreatePolicyVersion", "iam:DeletePolicyVersion", "iam:DeletePolicy", "iam:TagPolicy", "iam:UntagPolicy",
    ),
    # Adding a role to a profile passes it to EC2.
    "aws:iam/instanceProfile:InstanceProfile": (
        "iam:CreateInstanceProfile", "iam:GetInstanceProfile", "iam:AddRoleToInstanceProfile",
        "iam:RemoveRoleFromInstanceProfile", "iam:DeleteInstanceProfile", "iam:TagInstanceProfile",
        "iam:UntagInstanceProfile", "iam:PassRole",
    ),
    "aws:kms/key:Key": (
        "kms:CreateKey", "kms:DescribeKey", "kms:GetKeyPolicy", "kms:PutKeyPolicy", "kms:GetKeyRotationStatus",
        "kms:EnableKeyRotation", "kms:UpdateKeyDescription", "kms:ListResourceTags", "kms:TagResource",
        "kms:UntagResource", "kms:ScheduleKeyDeletion",
    ),
    "aws:kms/alias:Alias": ("kms:CreateAlias", "kms:ListAliases", "kms:UpdateAlias", "kms:DeleteAlias"),
    "aws:sqs/queue:Queue": (
        "sqs:CreateQueue", "sqs:GetQueueUrl", "sqs:GetQueueAttributes", "sqs:SetQueueAttributes", "sqs:TagQueue",
        "sqs:UntagQueue", "sqs:ListQueueTags", "sqs:DeleteQueue",
    ),
    "aws:sqs/queuePolicy:QueuePolicy": ("sqs:SetQueueAttributes", "sqs:GetQueueAttributes"),
    "aws:cloudwatch/eventRule:EventRule": (
        "events:PutRule", "events:DescribeRule", "events:EnableRule", "events:DisableRule", "events:DeleteRule",
        "events:TagResource", "events:UntagResource", "events:ListTagsForResource",
    ),
    "aws:cloudwatch/eventTarget:EventTarget": ("events:PutTargets", "events:ListTargetsByRule",
                                               "events:RemoveTargets"),
    "aws:cloudwatch/logGroup:LogGroup": (
        "logs:CreateLogGroup", "logs:DescribeLogGroups", "logs:PutRetentionPolicy", "logs:DeleteRetentionPolicy",
        "logs:TagResource", "logs:UntagResource", "logs:ListTagsForResource", "logs:DeleteLogGroup",
    ),
}

# Lookups (data sources) the components make while the program runs.
LOOKUP_ACTIONS: dict[str, tuple[str, ...]] = {
    "aws:index/getCallerIdentity:getCallerIdentity": (),  # STS answers it for any identity, with no permission
    "aws:ec2/getSubnet:getSubnet": ("ec2:DescribeSubnets",),
    "aws:eks/getAddonVersion:getAddonVersion": ("eks:DescribeAddonVersions",),
    "aws:eks/getNodeGroups:getNodeGroups": ("eks:ListNodegroups",),
    "aws:eks/getNodeGroup:getNodeGroup": ("eks:DescribeNodegroup",),
}

# IAM actions that are permissions only, with no API operation of that name.
PERMISSION_ONLY_ACTIONS = frozenset({"iam:PassRole"})
# Who the stack's roles are handed to: the cluster role to EKS, node roles to EKS and EC2, Karpenter's to pods.
PASS_ROLE_SERVICES = ("eks.amazonaws.com", "ec2.amazonaws.com", "pods.eks.amazonaws.com")
SERVICE_LINKED_ROLE_SERVICES = ("eks.amazonaws.com", "eks-nodegroup.amazonaws.com")
_CONDITIONED = {
    "iam:PassRole": {"StringEquals": {"iam:PassedToService": list(PASS_ROLE_SERVICES)}},
    "iam:CreateServiceLinkedRole": {"StringEquals": {"iam:AWSServiceName": list(SERVICE_LINKED_ROLE_SERVICES)}},
}


def deployer_policy(resource_types: Iterable[str], lookups: Iterable[str]) -> dict[str, Any]:
    """The IAM policy document for deploying, updating and destroying these resource types and making these lookups.

    Raises ValueError naming each type or lookup without a row: its permissions would be missing."""
    types, tokens = sorted(set(resource_types)), sorted(set(lookups))
    missing = [t for t in types if t not in RESOURCE_ACTIONS] + [t for t in tokens if t not in LOOKUP_ACTIONS]
    if missing:
        raise ValueError(f"no deployer actions for {', '.join(missing)}: add them to aws/deployer_policy.py")
    actions = {a for t in types for a in RESOURCE_ACTIONS[t]} | {a for t in tokens for a in LOOKUP_ACTIONS[t]}
    by_service: dict[str, list[str]] = {}
    for action in sorted(actions - set(_CONDITIONED)):
        by_service.setdefault(action.split(":")[0], []).append(action)
    statements: list[dict[str, Any]] = [
        {"Sid": service.capitalize(), "Effect": "Allow", "Action": names, "Resource": "*"}
        for service, names in sorted(by_service.items())
    ]
    statements += [
        {"Sid": action.split(":")[1], "Effect": "Allow", "Action": [action], "Resource": "*",
         "Condition": _CONDITIONED[action]}
        for action in sorted(actions & set(_CONDITIONED))
    ]
    return {"Version": "2012-10-17", "Statement": statements}
