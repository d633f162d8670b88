"""The EKS kubeconfig acts as the aws provider's identity: its profile and its assumed role."""

import pytest
from gpu_node_pools.aws.kubeconfig import eks_kubeconfig

ROLE = "arn:aws:iam::111122223333:role/deployer"


def exec_block(**identity: str | None) -> dict:
    config = eks_kubeconfig("gpu", "https://example.eks.amazonaws.com", "Y2E=", "us-west-2", **identity)
    return config["users"][0]["user"]["exec"]


@pytest.mark.parametrize(
    ("identity", "extra_args", "env"),
    [
        ({}, [], None),
        ({"profile": "ci"}, ["--profile", "ci"], [{"name": "AWS_PROFILE", "value": "ci"}]),
        ({"role_arn": ROLE}, ["--role-arn", ROLE], None),
        ({"profile": "ci", "role_arn": ROLE}, ["--role-arn", ROLE, "--profile", "ci"],
         [{"name": "AWS_PROFILE", "value": "ci"}]),
    ],
)
def test_exec_args_carry_the_identity(identity: dict, extra_args: list[str], env: list | None) -> None:
    block = exec_block(**identity)
    assert block["command"] == "aws"
    assert block["args"] == ["eks", "get-token", "--cluster-name", "gpu", "--output", "json", "--region", "us-west-2",
                             *extra_args]
    assert block.get("env") == env
