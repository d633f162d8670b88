"""A new cluster's EKS requests (CreateCluster, CreateAccessEntry, AssociateAccessPolicy, CreateAddon) are valid
in botocore's EKS model and carry the production defaults (terraform-aws-eks parity)."""

import re

import botocore.session
import pytest
from eks_model import eks_problems

from gpu_node_pools.aws.access import (
    ACCESS_POLICIES,
    access_policy_arn,
    associate_access_policy_request,
    create_access_entry_request,
)
from gpu_node_pools.aws.addons import MANAGED_ADDONS, create_addon_request, vpc_cni_configuration
from gpu_node_pools.aws.cluster import cluster_encryption_policy, control_plane_log_group_name, create_cluster_request
from gpu_node_pools.config.cluster import LOG_RETENTION_DAYS, EksClusterConfig
from gpu_node_pools.config.cluster_access import AccessEntryConfig
from gpu_node_pools.config.stack_files import load_stack

ROLE = "arn:aws:iam::123456789012:role/gpu-cluster"
KEY = "arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
GROUP = "sg-0123456789abcdef0"


def eks_cluster(stack: str) -> EksClusterConfig:
    cluster = load_stack(stack).cluster
    assert isinstance(cluster, EksClusterConfig)
    return cluster


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_create_cluster_request_is_valid_and_has_the_defaults(stack: str) -> None:
    request = create_cluster_request(eks_cluster(stack), role_arn=ROLE, kms_key_arn=KEY, endpoint_security_group_id=GROUP)
    assert eks_problems("CreateCluster", request) == []
    assert request["accessConfig"] == {"authenticationMode": "API", "bootstrapClusterCreatorAdminPermissions": False}
    assert request["resourcesVpcConfig"]["securityGroupIds"] == [GROUP]
    assert request["bootstrapSelfManagedAddons"] is False
    assert request["encryptionConfig"] == [{"resources": ["secrets"], "provider": {"keyArn": KEY}}]
    assert request["upgradePolicy"] == {"supportType": "STANDARD"}
    assert request["deletionProtection"] is (stack == "prod")


def test_log_types_become_cluster_logging_and_none_means_no_logging() -> None:
    config = eks_cluster("dev")
    request = create_cluster_request(config, role_arn=ROLE, kms_key_arn=KEY, endpoint_security_group_id=GROUP)
    assert request["logging"] == {"clusterLogging": [{"types": ["api", "audit", "authenticator"], "enabled": True}]}
    quiet = create_cluster_request(config.model_copy(update={"enabled_log_types": []}), role_arn=ROLE, kms_key_arn=KEY, endpoint_security_group_id=GROUP)
    assert "logging" not in quiet


def test_every_access_entry_of_prod_is_a_valid_request() -> None:
    cluster = eks_cluster("prod")
    assert cluster.access, "prod declares no access entries"
    for entry in cluster.access:
        assert eks_problems("CreateAccessEntry", create_access_entry_request(cluster.name, entry)) == []
        assert eks_problems("AssociateAccessPolicy", associate_access_policy_request(cluster.name, entry)) == []


@pytest.mark.parametrize(
    ("policy", "namespaces", "policy_arn", "scope"),
    [
        ("cluster-admin", None, "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy", {"type": "cluster"}),
        ("admin", ["ml"], "arn:aws:eks::aws:cluster-access-policy/AmazonEKSAdminPolicy",
         {"type": "namespace", "namespaces": ["ml"]}),
        ("edit", ["a", "b"], "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy",
         {"type": "namespace", "namespaces": ["a", "b"]}),
        ("view", None, "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy", {"type": "cluster"}),
    ],
)
def test_access_policies_map_to_the_aws_managed_ones(policy, namespaces, policy_arn, scope) -> None:
    entry = AccessEntryConfig(principal_arn="arn:aws:iam::111122223333:role/x", policy=policy, namespaces=namespaces)
    request = associate_access_policy_request("gpu", entry)
    assert request["policyArn"] == policy_arn and request["accessScope"] == scope
    assert create_access_entry_request("gpu", entry)["type"] == "STANDARD"


def test_access_policy_arn_follows_the_principal_partition() -> None:
    entry = AccessEntryConfig(principal_arn="arn:aws-cn:iam::111122223333:role/x", policy="view")
    assert associate_access_policy_request("gpu", entry)["policyArn"] == access_policy_arn("view", "aws-cn")
    assert access_policy_arn("view", "aws-cn").startswith("arn:aws-cn:eks::aws:")
    assert set(ACCESS_POLICIES) == {"cluster-admin", "admin", "edit", "view"}


@pytest.mark.parametrize("addon", [a.name for a in MANAGED_ADDONS])
@pytest.mark.parametrize("network_policy", [False, True])
def test_addon_requests_are_valid(addon: str, network_policy: bool) -> None:
    values = vpc_cni_configuration(network_policy) if addon == "vpc-cni" else None
    request = create_addon_request("gpu-prod", addon, version="v1.20.4-eksbuild.2", configuration_values=values)
    assert eks_problems("CreateAddon", request) == []
    assert request["resolveConflicts"] == "OVERWRITE"


def test_managed_addons_and_their_order() -> None:
    before = {a.name for a in MANAGED_ADDONS if a.before_compute}
    after = {a.name for a in MANAGED_ADDONS if not a.before_compute}
    assert {"vpc-cni", "eks-pod-identity-agent"} <= before
    assert after == {"coredns", "eks-node-monitoring-agent"}  # the latter only when enabled (test_node_repair.py)


def test_vpc_cni_enforces_network_policy_only_when_asked() -> None:
    assert vpc_cni_configuration(True) == '{"enableNetworkPolicy": "true"}'
    assert vpc_cni_configuration(False) is None


def test_cluster_encryption_policy_names_the_key() -> None:
    statement = cluster_encryption_policy(KEY)["Statement"][0]
    assert statement["Resource"] == KEY
    assert set(statement["Action"]) == {"kms:Encrypt", "kms:Decrypt", "kms:ListGrants", "kms:DescribeKey"}


def test_control_plane_log_group_is_where_eks_writes() -> None:
    assert control_plane_log_group_name("gpu-prod") == "/aws/eks/gpu-prod/cluster"


def test_log_retention_choices_are_cloudwatchs() -> None:
    logs = botocore.session.get_session().get_service_model("logs")
    doc = logs.operation_model("PutRetentionPolicy").input_shape.members["retentionInDays"].documentation
    listed = doc.split("Possible values are:")[1].split("</p>")[0]
    assert tuple(int(n) for n in re.findall(r"\d+", listed)) == LOG_RETENTION_DAYS
