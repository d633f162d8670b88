"""A new EKS cluster's settings: each bad value is refused with its stack key before anything is declared."""

import pytest

from gpu_node_pools.config.platform import ConfigError, parse_platform_config

GOOD_EKS = {"mode": "eks", "name": "gpu", "subnetIds": ["subnet-a", "subnet-b"]}
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
