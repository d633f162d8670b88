"""EKS Auto Mode's AWS side: the CreateCluster fields that turn it on, the IAM policies its roles need, and the
access entry its nodes join with.

Auto Mode's three capabilities go together: EKS refuses compute without load balancing and block storage (and
the other way round), so they are enabled as one. The cluster role gets Auto Mode's managed policies, and its trust
allows `sts:TagSession` (EKS tags the sessions it opens to launch instances); the node role needs only the minimal
worker policy and ECR pull (Auto Mode's nodes run no CNI of their own, so no CNI policy). Reference: EKS User
Guide, "Create an Auto Mode cluster" (CLI) and "Learn about identity and access in EKS Auto Mode".
"""

from __future__ import annotations

from typing import Any

from ..config.auto_mode import AutoModeConfig

__all__ = [
    "AUTO_MODE_CLUSTER_POLICIES",
    "AUTO_MODE_NODE_POLICIES",
    "NODE_ACCESS_ENTRY_TYPE",
    "NODE_ACCESS_POLICY_ARN",
    "auto_mode_cluster_fields",
    "cluster_trust_policy",
    "node_access_entry_request",
    "node_access_policy_request",
    "node_needs_own_access_entry",
]

_MANAGED = "arn:aws:iam::aws:policy/"
AUTO_MODE_CLUSTER_POLICIES = tuple(_MANAGED + p for p in (
    "AmazonEKSClusterPolicy", "AmazonEKSComputePolicy", "AmazonEKSBlockStoragePolicy",
    "AmazonEKSLoadBalancingPolicy", "AmazonEKSNetworkingPolicy",
))
AUTO_MODE_NODE_POLICIES = tuple(_MANAGED + p for p in ("AmazonEKSWorkerNodeMinimalPolicy",
                                                       "AmazonEC2ContainerRegistryPullOnly"))
# Auto Mode nodes join through an access entry of type EC2 (not EC2_LINUX) with the Auto Mode node policy.
NODE_ACCESS_ENTRY_TYPE = "EC2"
NODE_ACCESS_POLICY_ARN = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSAutoNodePolicy"


def auto_mode_cluster_fields(config: AutoModeConfig, *, node_role_arn: str) -> dict[str, Any]:
    """The CreateCluster members that enable Auto Mode (merged into `aws.cluster.create_cluster_request`).

    The node role is named only with built-in NodePools: EKS refuses a role with none (terraform-aws-eks does the
    same); our own NodeClass names the role itself."""
    compute: dict[str, Any] = {"enabled": True, "nodePools": list(config.builtin_node_pools)}
    if config.builtin_node_pools:
        compute["nodeRoleArn"] = node_role_arn
    return {
        "computeConfig": compute,
        "kubernetesNetworkConfig": {"elasticLoadBalancing": {"enabled": True}},
        "storageConfig": {"blockStorage": {"enabled": True}},
        # Auto Mode runs the networking and DNS itself: nothing self-managed to bootstrap.
        "bootstrapSelfManagedAddons": False,
    }


def cluster_trust_policy(*, auto_mode: bool) -> dict[str, Any]:
    """The cluster role's trust: eks.amazonaws.com; under Auto Mode it may also tag its sessions."""
    actions: str | list[str] = ["sts:AssumeRole", "sts:TagSession"] if auto_mode else "sts:AssumeRole"
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "eks.amazonaws.com"}, "Action": actions}],
    }


def node_needs_own_access_entry(config: AutoModeConfig) -> bool:
    """EKS creates the node role's access entry itself when built-in NodePools use it (computeConfig names it);
    with none, our NodeClass's nodes need one we declare (a second would fail: one entry per principal)."""
    return not config.builtin_node_pools


def node_access_entry_request(cluster_name: str, node_role_arn: str) -> dict[str, Any]:
    """The EKS CreateAccessEntry request that lets our NodeClass's nodes join."""
    return {"clusterName": cluster_name, "principalArn": node_role_arn, "type": NODE_ACCESS_ENTRY_TYPE}


def node_access_policy_request(cluster_name: str, node_role_arn: str) -> dict[str, Any]:
    """The EKS AssociateAccessPolicy request giving those nodes Auto Mode's node policy, cluster-wide."""
    return {"clusterName": cluster_name, "principalArn": node_role_arn, "policyArn": NODE_ACCESS_POLICY_ARN,
            "accessScope": {"type": "cluster"}}
