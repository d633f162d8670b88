"""Every name AWS gives a stack's resources fits AWS' limits, for stack names up to 40 characters."""

import json

import pytest
from aws_model import max_length
from gpu_node_pools.aws.names import AUTONAME_SUFFIX_LENGTH, autoname_within, name_within
from gpu_node_pools.mock_engine import DeclaredResource
from pulumi_harness import run_program, stack_config

# Resource type -> the API member its name goes to (botocore's max where the model has one, else AWS' documented
# limit), and how the name is given: explicitly (`name`), as a prefix (+ 26 characters), or by Pulumi's auto-name.
NAMED = {
    "aws:iam/role:Role": ("iam", "CreateRole", "RoleName", None),
    "aws:iam/policy:Policy": ("iam", "CreatePolicy", "PolicyName", None),
    "aws:iam/instanceProfile:InstanceProfile": ("iam", "CreateInstanceProfile", "InstanceProfileName", None),
    "aws:iam/rolePolicy:RolePolicy": ("iam", "PutRolePolicy", "PolicyName", None),
    "aws:cloudwatch/eventRule:EventRule": ("events", "PutRule", "Name", None),
    "aws:cloudwatch/logGroup:LogGroup": ("logs", "CreateLogGroup", "logGroupName", None),
    "aws:kms/alias:Alias": ("kms", "CreateAlias", "AliasName", None),
    "aws:ec2/launchTemplate:LaunchTemplate": ("ec2", "CreateLaunchTemplate", "LaunchTemplateName", 128),
    "aws:sqs/queue:Queue": ("sqs", "CreateQueue", "QueueName", 80),
    "aws:eks/nodeGroup:NodeGroup": ("eks", "CreateNodegroup", "nodegroupName", 63),
    "aws:eks/cluster:Cluster": ("eks", "CreateCluster", "name", None),
}
PREFIX_SUFFIX_LENGTH = 26  # what the provider appends to a name prefix
LONGEST_POOL = "p" * 36
STACK_NAMES = ["ml-platform-prod-euwest1", "ml-platform-production-eu-west-1-blue-01"]


@pytest.fixture(autouse=True)
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "example")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def physical_name(resource: DeclaredResource) -> str:
    inputs = resource.inputs
    if "name" in inputs:
        return inputs["name"]
    for prefix in ("namePrefix", "nodeGroupNamePrefix"):
        if prefix in inputs:
            return inputs[prefix] + "x" * PREFIX_SUFFIX_LENGTH
    return resource.name + "-" + "x" * (AUTONAME_SUFFIX_LENGTH - 1)


def limit(typ: str) -> int:
    service, operation, member, documented = NAMED[typ]
    return max_length(service, operation, member) or documented  # type: ignore[return-value]


def prod_with_longest_names() -> dict[str, str]:
    """prod with the longest cluster name EKS takes and a pool name of the longest length we allow."""
    config = stack_config("prod")
    cluster = json.loads(config["gpu-node-pools:cluster"])
    config["gpu-node-pools:cluster"] = json.dumps({**cluster, "name": "c" * 100})
    pools = json.loads(config["gpu-node-pools:nodePools"])
    pools[1]["name"] = LONGEST_POOL
    config["gpu-node-pools:nodePools"] = json.dumps(pools)
    return config


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_every_aws_name_fits_for_long_stack_cluster_and_pool_names(stack: str) -> None:
    assert len(stack) <= 40
    resources = run_program(stack, prod_with_longest_names())
    named = [r for r in resources if r.type in NAMED]
    assert {r.type for r in named} == set(NAMED)  # every kind of name was looked at
    too_long = [(r.type, physical_name(r), limit(r.type)) for r in named if len(physical_name(r)) > limit(r.type)]
    assert too_long == []
    roles = [physical_name(r) for r in resources if r.type == "aws:iam/role:Role"]
    assert len(set(roles)) == len(roles)


def test_the_shipped_names_are_unchanged(stacks: dict[str, list[DeclaredResource]]) -> None:
    """A name that fits is left alone: an existing stack's resources keep their names (and URNs)."""
    resources = stacks["prod"]
    roles = sorted(r.name for r in resources if r.type == "aws:iam/role:Role")
    assert roles == ["prod-cluster", "prod-general-node", "prod-gpu-node", "prod-karpenter-controller",
                     "prod-karpenter-node"]


@pytest.mark.parametrize(
    ("name", "limit_", "suffix"),
    [("a" * 64, 64, ""), ("a" * 65, 64, ""), ("ml-" * 40, 56, ""), ("c" * 100 + "-karpenter", 80, "-karpenter")],
)
def test_name_within_cuts_with_a_stable_hash(name: str, limit_: int, suffix: str) -> None:
    fitted = name_within(name, limit_, keep_suffix=suffix)
    assert len(fitted) <= limit_ and fitted.endswith(suffix)
    assert fitted == name_within(name, limit_, keep_suffix=suffix)
    assert (fitted == name) == (len(name) <= limit_)


def test_long_names_that_share_a_beginning_stay_apart() -> None:
    first, second = "c" * 90 + "-blue-karpenter", "c" * 90 + "-green-karpenter"
    assert name_within(first, 80, keep_suffix="-karpenter") != name_within(second, 80, keep_suffix="-karpenter")


def test_autoname_leaves_room_for_pulumis_suffix() -> None:
    assert len(autoname_within("s" * 40 + "-karpenter-capacity-reservation-interruption", 64)) == 64 - 8
