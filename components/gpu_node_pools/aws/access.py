"""A cluster's access entries as EKS CreateAccessEntry and AssociateAccessPolicy requests."""

from __future__ import annotations

import re
from typing import Any

from ..config.cluster_access import AccessEntryConfig, AccessPolicyName

__all__ = [
    "ACCESS_POLICIES",
    "access_policy_arn",
    "associate_access_policy_request",
    "create_access_entry_request",
    "create_node_access_entry_request",
    "create_pod_identity_association_request",
    "creator_access_entry",
    "creator_principal_arn",
]

# The AWS managed access policies, named after the Kubernetes roles they match.
ACCESS_POLICIES: dict[AccessPolicyName, str] = {
    "cluster-admin": "AmazonEKSClusterAdminPolicy",
    "admin": "AmazonEKSAdminPolicy",
    "edit": "AmazonEKSEditPolicy",
    "view": "AmazonEKSViewPolicy",
}


_ASSUMED_ROLE = re.compile(r"^arn:(aws(?:-[a-z]+)*):sts::([^:]+):assumed-role/([^/]+)/[^/]+$")
_IAM_PRINCIPAL = re.compile(r"^arn:aws(?:-[a-z]+)*:iam::[^:]+:(?:role|user)/.+$")


def creator_principal_arn(caller_arn: str) -> str:
    """The IAM principal behind STS GetCallerIdentity's ARN, as an access entry names it.

    An assumed role's session ARN (`arn:aws:sts::ACCT:assumed-role/NAME/SESSION`) becomes the role's ARN
    (`arn:aws:iam::ACCT:role/NAME`). STS drops the role's path, so a role under a path (`role/team/NAME`) can't be
    recovered from it: name it in `cluster.creatorPrincipalArn` then. A user's ARN is its own principal.
    """
    if match := _ASSUMED_ROLE.match(caller_arn):
        partition, account, role = match.groups()
        return f"arn:{partition}:iam::{account}:role/{role}"
    if _IAM_PRINCIPAL.match(caller_arn):
        return caller_arn
    raise ValueError(
        f"the deploying identity {caller_arn} is not an IAM role or user, which an EKS access entry needs (the root "
        "user and federated users are neither): deploy with a role, or set cluster.creatorPrincipalArn to the role "
        "that should be admin, or cluster.creatorAdmin: false"
    )


def creator_access_entry(principal_arn: str) -> AccessEntryConfig:
    """The deploying identity's entry: cluster-admin, cluster-wide. Its ARN comes from STS (or a checked config
    key), not from a stack file, so it is taken as is; `plan` shows a stand-in there."""
    return AccessEntryConfig.model_construct(principal_arn=principal_arn, policy="cluster-admin", namespaces=None)


def access_policy_arn(policy: AccessPolicyName, partition: str = "aws") -> str:
    return f"arn:{partition}:eks::aws:cluster-access-policy/{ACCESS_POLICIES[policy]}"


def create_access_entry_request(cluster_name: str, entry: AccessEntryConfig) -> dict[str, Any]:
    """A STANDARD entry: the principal's Kubernetes rights come from the policy associated with it."""
    return {"clusterName": cluster_name, "principalArn": entry.principal_arn, "type": "STANDARD"}


def associate_access_policy_request(cluster_name: str, entry: AccessEntryConfig) -> dict[str, Any]:
    scope: dict[str, Any] = {"type": "cluster"}
    if entry.namespaces:
        scope = {"type": "namespace", "namespaces": list(entry.namespaces)}
    return {
        "clusterName": cluster_name,
        "principalArn": entry.principal_arn,
        "policyArn": access_policy_arn(entry.policy, entry.partition),
        "accessScope": scope,
    }


def create_node_access_entry_request(cluster_name: str, node_role_arn: str) -> dict[str, Any]:
    """An EC2_LINUX entry: nodes launched with this role join the cluster (EKS grants the node permissions itself;
    no access policy is associated with this type)."""
    return {"clusterName": cluster_name, "principalArn": node_role_arn, "type": "EC2_LINUX"}


def create_pod_identity_association_request(
    cluster_name: str, namespace: str, service_account: str, role_arn: str
) -> dict[str, Any]:
    """EKS Pod Identity: pods of `namespace/service_account` get `role_arn`'s credentials from the agent."""
    return {"clusterName": cluster_name, "namespace": namespace, "serviceAccount": service_account, "roleArn": role_arn}
