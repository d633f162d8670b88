"""docs/deployer-policy.json: every AWS resource type and lookup the stacks declare has its actions in it, each
action is one IAM knows (an operation of botocore's model of its service), and the document is valid IAM policy."""

import json
import runpy

import botocore.session
import pytest
from aws_model import aws_problems
from gpu_node_pools.aws.deployer_policy import (
    LOOKUP_ACTIONS,
    PERMISSION_ONLY_ACTIONS,
    RESOURCE_ACTIONS,
    deployer_policy,
)
from gpu_node_pools.mock_engine import MockEngine, run_stack_program
from pulumi_harness import ROOT, fake_aws_credentials, stack_config

DOC = ROOT / "docs" / "deployer-policy.json"
# IAM's service prefix -> botocore's service name, for the services the table uses.
BOTOCORE_SERVICE = {"eks": "eks", "ec2": "ec2", "iam": "iam", "kms": "kms", "sqs": "sqs", "events": "events",
                    "logs": "logs"}
# IAM's limit on a managed policy, whitespace not counted.
MANAGED_POLICY_MAX_CHARS = 6144


def allowed(document: dict) -> set[str]:
    return {a for s in document["Statement"] if s["Effect"] == "Allow" for a in s["Action"]}


@pytest.fixture(scope="module")
def lookups() -> set[str]:
    """The AWS lookups the dev and prod programs make, as the stack program runs them: on a first deploy, and on an
    update (the cluster exists, with a node group in it)."""
    tokens: set[str] = set()
    with pytest.MonkeyPatch.context() as env:
        fake_aws_credentials(env)
        for stack in ("dev", "prod"):
            cluster = json.loads(stack_config(stack)["gpu-node-pools:cluster"])["name"]
            for live in ({}, {cluster: {"other": {"scalingConfigs": [], "tags": {}}}}):
                engine = MockEngine(live)
                run_stack_program(ROOT, stack, stack_config(stack), engine)
                tokens |= {t for t in engine.calls if t.startswith("aws:")}
    return tokens


def test_the_committed_document_is_the_generated_one() -> None:
    generator = runpy.run_path(str(ROOT / "scripts" / "deployer_policy.py"))
    assert DOC.read_text() == generator["document"](), "stale: run `make generate`"


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_declared_resource_type_has_its_actions_in_the_document(stacks: dict, stack: str) -> None:
    document = json.loads(DOC.read_text())
    types = {r.type for r in stacks[stack] if r.type.startswith("aws:")}
    assert types, "no AWS resource declared"
    for typ in types:
        assert typ in RESOURCE_ACTIONS, f"{typ}: no row in aws/deployer_policy.py"
        assert set(RESOURCE_ACTIONS[typ]) <= allowed(document), typ


def test_every_lookup_has_its_actions_in_the_document(lookups: set[str]) -> None:
    document = json.loads(DOC.read_text())
    assert {"aws:ec2/getSubnet:getSubnet", "aws:index/getCallerIdentity:getCallerIdentity",
            "aws:eks/getNodeGroup:getNodeGroup"} <= lookups
    for token in lookups:
        assert token in LOOKUP_ACTIONS, f"{token}: no row in aws/deployer_policy.py"
        assert set(LOOKUP_ACTIONS[token]) <= allowed(document), token


def test_no_row_is_left_over_from_a_type_no_stack_declares(stacks: dict, lookups: set[str]) -> None:
    declared = {r.type for stack in ("dev", "prod") for r in stacks[stack]}
    assert set(RESOURCE_ACTIONS) - declared == set()
    assert set(LOOKUP_ACTIONS) - lookups == set()


def test_every_action_is_an_operation_of_its_service() -> None:
    session = botocore.session.get_session()
    actions = {a for table in (RESOURCE_ACTIONS, LOOKUP_ACTIONS) for row in table.values() for a in row}
    unknown = []
    for action in sorted(actions - PERMISSION_ONLY_ACTIONS):
        prefix, name = action.split(":")
        if name not in session.get_service_model(BOTOCORE_SERVICE[prefix]).operation_names:
            unknown.append(action)
    assert unknown == []


def test_the_document_is_a_valid_managed_policy() -> None:
    text = DOC.read_text()
    document = json.loads(text)
    assert document["Version"] == "2012-10-17"
    sids = [s["Sid"] for s in document["Statement"]]
    assert len(sids) == len(set(sids)) and all(sid.isalnum() for sid in sids)
    for statement in document["Statement"]:
        assert set(statement) <= {"Sid", "Effect", "Action", "Resource", "Condition"}
        assert statement["Effect"] == "Allow" and statement["Resource"] == "*"
        assert statement["Action"] == sorted(set(statement["Action"]))
    assert len("".join(text.split())) <= MANAGED_POLICY_MAX_CHARS
    assert aws_problems("iam", "CreatePolicy", {"PolicyName": "gpu-node-pools-deployer", "PolicyDocument": text}) == []


def test_passing_and_creating_roles_is_kept_to_eks_and_ec2() -> None:
    document = json.loads(DOC.read_text())
    conditions = {s["Action"][0]: s["Condition"] for s in document["Statement"] if "Condition" in s}
    assert conditions == {
        "iam:PassRole": {"StringEquals": {"iam:PassedToService": [
            "eks.amazonaws.com", "ec2.amazonaws.com", "pods.eks.amazonaws.com"]}},
        "iam:CreateServiceLinkedRole": {"StringEquals": {"iam:AWSServiceName": [
            "eks.amazonaws.com", "eks-nodegroup.amazonaws.com"]}},
    }
    unconditioned = {a for s in document["Statement"] if "Condition" not in s for a in s["Action"]}
    assert not unconditioned & {"iam:PassRole", "iam:CreateServiceLinkedRole"}


def test_a_type_without_a_row_is_named() -> None:
    with pytest.raises(ValueError, match="aws:rds/instance:Instance"):
        deployer_policy(["aws:eks/cluster:Cluster", "aws:rds/instance:Instance"], [])
