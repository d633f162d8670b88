"""A new EKS cluster's settings: each bad value is refused with its stack key before anything is declared."""

import pytest

from gpu_node_pools.config.platform import ConfigError, parse_platform_config

GOOD_EKS = {"mode": "eks", "name": "gpu", "subnetIds": ["subnet-a", "subnet-b"], "publicAccessCidrs": ["34.220.10.0/24"]}
ADMIN = "arn:aws:iam::111122223333:role/admins"


def parse(**cluster: object):
    return parse_platform_config({"cluster": {**GOOD_EKS, **cluster}, "nodeAgent": {"enabled": False}},
                                 "stacks/Pulumi.test.yaml")


def test_defaults_follow_terraform_aws_eks() -> None:
    cluster = parse().cluster
    assert cluster.log_retention_days == 90
    assert cluster.deletion_protection is False and cluster.upgrade_policy == "STANDARD"
    assert cluster.encryption.kms_key_arn is None and cluster.access == []
    assert cluster.addons.pinned("vpc-cni") is None


@pytest.mark.parametrize(
    ("cluster", "key", "message"),
    [
        ({"access": [{"principalArn": "admins", "policy": "view"}]},
         "cluster.access[0].principalArn", "not an IAM role or user ARN"),
        ({"access": [{"principalArn": "arn:aws:iam::111122223333:group/admins", "policy": "view"}]},
         "cluster.access[0].principalArn", "not an IAM role or user ARN"),
        ({"access": [{"principalArn": ADMIN, "policy": "owner"}]}, "cluster.access[0].policy", "'owner' is not allowed"),
        ({"access": [{"principalArn": ADMIN, "policy": "cluster-admin", "namespaces": ["ml"]}]},
         "cluster.access[0]", "cluster-admin is cluster-wide"),
        ({"access": [{"principalArn": ADMIN, "policy": "edit", "namespaces": ["ML_team"]}]},
         "cluster.access[0].namespaces", "'ML_team'"),
        ({"access": [{"principalArn": ADMIN, "policy": "edit", "namespaces": []}]},
         "cluster.access[0].namespaces", "at least 1 item"),
        ({"access": [{"principalArn": ADMIN, "policy": "view"}, {"principalArn": ADMIN, "policy": "edit"}]},
         "cluster.access", f"listed more than once (EKS keeps one entry each): {ADMIN}"),
        ({"addons": {"coredns": {"version": "1.11.4"}}}, "cluster.addons.coredns.version", "not an EKS add-on version"),
        ({"addons": {"aws-ebs-csi-driver": {}}}, "cluster.addons.aws-ebs-csi-driver", "unknown key"),
        ({"addons": {"vpcCni": {}}}, "cluster.addons.vpcCni", "unknown key"),
        ({"encryption": {"kmsKeyArn": "arn:aws:kms:us-west-2:111122223333:alias/eks"}},
         "cluster.encryption.kmsKeyArn", "not a KMS key ARN"),
        ({"logRetentionDays": 100}, "cluster.logRetentionDays", "not a CloudWatch retention"),
        ({"upgradePolicy": "LTS"}, "cluster.upgradePolicy", "'LTS' is not allowed"),
        ({"deletionProtection": "maybe"}, "cluster.deletionProtection", "valid boolean"),
        ({"publicAccessCidrs": None}, "cluster.publicAccessCidrs", "a public API endpoint needs the CIDRs"),
        ({"publicAccessCidrs": ["10.0.0.1/8"]}, "cluster.publicAccessCidrs", "'10.0.0.1/8' is not a CIDR block"),
        ({"endpointPublicAccess": False, "publicAccessCidrs": None}, "cluster.privateAccessCidrs",
         "private only, so name who may reach it on port 443"),
        ({"endpointPublicAccess": False, "privateAccessCidrs": ["10.0.0.0/16"]}, "cluster.publicAccessCidrs",
         "there is no public endpoint"),
        ({"endpointPrivateAccess": False, "privateAccessCidrs": ["10.0.0.0/16"]}, "cluster.privateAccessCidrs",
         "there is no private endpoint"),
        ({"endpointPublicAccess": False, "endpointPrivateAccess": False, "publicAccessCidrs": None},
         "cluster.endpointPrivateAccess", "reachable from nowhere"),
        ({"privateAccessSecurityGroupIds": ["sg-bastion"]}, "cluster.privateAccessSecurityGroupIds",
         "'sg-bastion' is not a security group id"),
        ({"creatorPrincipalArn": "arn:aws:sts::111122223333:assumed-role/deployer/me"}, "cluster.creatorPrincipalArn",
         "not an IAM role or user ARN"),
        ({"creatorPrincipalArn": ADMIN, "access": [{"principalArn": ADMIN, "policy": "view"}]},
         "cluster.creatorPrincipalArn", "also in cluster.access"),
    ],
)
def test_bad_cluster_settings_name_their_key(cluster: dict, key: str, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse(**cluster)
    assert [k for k, _ in error.value.problems] == [f"gpu-node-pools:{key}"]
    assert message in error.value.problems[0][1]


def test_good_settings_are_kept() -> None:
    cluster = parse(
        access=[
            {"principalArn": ADMIN, "policy": "cluster-admin"},
            {"principalArn": "arn:aws-us-gov:iam::111122223333:user/path/ci", "policy": "edit", "namespaces": ["ml"]},
        ],
        addons={"vpc-cni": {"version": "v1.20.4-eksbuild.2"}},
        encryption={"kmsKeyArn": "arn:aws:kms:us-west-2:111122223333:key/mrk-1234abcd"},
        logRetentionDays=365,
        deletionProtection=True,
        upgradePolicy="EXTENDED",
    ).cluster
    assert cluster.access[1].partition == "aws-us-gov"
    assert cluster.addons.pinned("vpc-cni") == "v1.20.4-eksbuild.2"
    assert cluster.addons.pinned("coredns") is None


def test_the_endpoint_is_opened_only_as_written() -> None:
    world = parse(publicAccessCidrs=["0.0.0.0/0"]).cluster  # the whole internet, on purpose
    assert world.public_access_cidrs == ["0.0.0.0/0"]
    private = parse(endpointPublicAccess=False, publicAccessCidrs=None,
                    privateAccessCidrs=["10.20.0.0/16", "fd00:10::/64"],
                    privateAccessSecurityGroupIds=["sg-0c5d9e83b1a4f0001"]).cluster
    assert private.private_access_cidrs == ["10.20.0.0/16", "fd00:10::/64"]
    assert private.private_access_security_group_ids == ["sg-0c5d9e83b1a4f0001"]


def test_the_creator_is_admin_by_default_and_may_be_named_or_left_out() -> None:
    assert parse().cluster.creator_admin is True and parse().cluster.creator_principal_arn is None
    assert parse(creatorAdmin=False).cluster.creator_admin is False
    # Listed in access and not made admin by the creator entry: one entry, no clash.
    assert parse(creatorAdmin=False, creatorPrincipalArn=ADMIN,
                 access=[{"principalArn": ADMIN, "policy": "view"}]).cluster.creator_admin is False
