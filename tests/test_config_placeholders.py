"""A deploy refuses the example values the shipped stacks carry, naming every key to fill and how."""

import pytest
from gpu_node_pools.config.placeholders import placeholder_problems
from gpu_node_pools.config.platform import parse_platform_config
from pulumi_harness import run_program, stack_config, stack_model


@pytest.fixture(autouse=True)
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "example")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


PROD_KEYS = [
    "gpu-node-pools:cluster.subnetIds[0]", "gpu-node-pools:cluster.subnetIds[1]", "gpu-node-pools:cluster.subnetIds[2]",
    "gpu-node-pools:cluster.privateAccessSecurityGroupIds[0]",
    "gpu-node-pools:cluster.access[0].principalArn", "gpu-node-pools:cluster.access[1].principalArn",
    "gpu-node-pools:nodeAgent.image", "gpu-node-pools:nodeAgent.pushRepository",
    "gpu-node-pools:karpenter.controller.imageDigest",
]


def test_the_shipped_prod_stack_names_every_key_to_fill_and_how() -> None:
    problems = dict(placeholder_problems(stack_model("prod", filled=False), "prod"))
    assert sorted(problems) == sorted(PROD_KEYS)
    assert "make image-push STACK=prod" in problems["gpu-node-pools:nodeAgent.image"]
    assert "crane digest public.ecr.aws/karpenter/controller:1.15.0" in problems[
        "gpu-node-pools:karpenter.controller.imageDigest"]
    assert "describe-subnets" in problems["gpu-node-pools:cluster.subnetIds[0]"]
    assert "CI runner or bastion" in problems["gpu-node-pools:cluster.privateAccessSecurityGroupIds[0]"]


def test_the_shipped_dev_stack_names_its_documentation_range() -> None:
    problems = dict(placeholder_problems(stack_model("dev", filled=False), "dev"))
    assert "reserved for documentation" in problems["gpu-node-pools:cluster.publicAccessCidrs[0]"]
    assert "checkip" in problems["gpu-node-pools:cluster.publicAccessCidrs[0]"]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_a_deploy_of_a_shipped_stack_is_refused_before_any_resource(stack: str) -> None:
    with pytest.raises(Exception, match=rf"stacks/Pulumi.{stack}.yaml: .*problems") as raised:
        run_program(stack, stack_config(stack, filled=False))
    for key in ("gpu-node-pools:cluster.subnetIds[1]", "gpu-node-pools:nodeAgent.image"):
        assert key in str(raised.value)


@pytest.mark.parametrize("stack", ["dev", "prod", "local"])
def test_filled_in_stacks_and_the_local_stack_have_none(stack: str) -> None:
    assert placeholder_problems(stack_model(stack, filled=True), stack) == []


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("cluster", {"mode": "eks", "name": "a", "subnetIds": ["subnet-0123456789abcdef0", "subnet-0d2e7a91c4b3f"],
                     "publicAccessCidrs": ["34.220.10.0/24"]}),
        ("cluster", {"mode": "eks", "name": "a", "subnetIds": ["subnet-0d2e7a91c4b3f", "subnet-0b7c1e94a2d5f"],
                     "publicAccessCidrs": ["34.220.10.0/24"], "encryption": {"kmsKeyArn": "arn:aws:kms:us-west-2:123456789012:key/k"}}),
        ("devicePlugin", {"imageDigest": "sha256:" + "0" * 64}),
        ("cluster", {"mode": "eks", "name": "a", "subnetIds": ["subnet-0d2e7a91c4b3f", "subnet-0b7c1e94a2d5f"],
                     "publicAccessCidrs": ["34.220.10.0/24", "198.51.100.7/32"]}),
        ("cluster", {"mode": "eks", "name": "a", "subnetIds": ["subnet-0d2e7a91c4b3f", "subnet-0b7c1e94a2d5f"],
                     "endpointPublicAccess": False, "privateAccessCidrs": ["2001:db8:1::/48"]}),
    ],
)
def test_each_kind_of_example_value_is_found(key: str, value: dict) -> None:
    values = {**stack_model("dev", filled=True).model_dump(by_alias=True, exclude_defaults=True), key: value}
    problems = placeholder_problems(parse_platform_config(values, "x"), "dev")
    assert len(problems) == 1 and problems[0][0].startswith(f"gpu-node-pools:{key}.")


def test_missing_credentials_are_named_first(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """The engine test of a fast failure without credentials runs the shipped stacks: that message comes first."""
    import os

    for name in [n for n in os.environ if n.startswith("AWS_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(Exception, match="no AWS credentials"):
        run_program("prod", stack_config("prod", filled=False))
