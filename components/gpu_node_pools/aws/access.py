"""A cluster's access entries as EKS CreateAccessEntry and AssociateAccessPolicy requests."""

from __future__ import annotations

from typing import Any

from ..config.cluster_access import AccessEntryConfig, AccessPolicyName

__all__ = [
    "ACCESS_POLICIES",
    "access_policy_arn",
    "associate_access_policy_request",
    "create_access_entry_request",
    "create_node_access_entry_request",
    "create_pod_identity_association_request",
]

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


def create_node_access_entry_request(cluster_name: str, node_role_arn: str) -> dict[str, Any]:
    """An EC2_LINUX entry: nodes launched with this role join the cluster (EKS grants the node permissions itself;
    no access policy is associated with this type)."""
    return {"clusterName": cluster_name, "principalArn": node_role_arn, "type": "EC2_LINUX"}


def create_pod_identity_association_request(
    cluster_name: str, namespace: str, service_account: str, role_arn: str
) -> dict[str, Any]:
    """EKS Pod Identity: pods of `namespace/service_account` get `role_arn`'s credentials from the agent."""
    return {"clusterName": cluster_name, "namespace": namespace, "serviceAccount": service_account, "roleArn": role_arn}
