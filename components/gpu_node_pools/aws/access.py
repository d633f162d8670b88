"""A cluster's access entries as EKS CreateAccessEntry and AssociateAccessPolicy requests."""

from __future__ import annotations

from typing import Any

from ..config.cluster_access import AccessEntryConfig, AccessPolicyName

__all__ = ["ACCESS_POLICIES", "access_policy_arn", "associate_access_policy_request", "create_access_entry_request"]

# The AWS managed access policies, named after the Kubernetes roles they match.
ACCESS_POLICIES: dict[AccessPolicyName, str] = {
    "cluster-admin": "AmazonEKSClusterAdminPolicy",
    "admin": "AmazonEKSAdminPolicy",
    "edit": "AmazonEKSEditPolicy",
    "view": "AmazonEKSViewPolicy",
}


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
