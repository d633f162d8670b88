"""Karpenter's AWS side as data: every request valid in botocore's models (IAM, SQS, EventBridge, EKS), the
controller policy equal to Karpenter's own template and scoped by tags, the queue and rules as upstream has them."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from aws_model import aws_problems
from eks_model import eks_problems

from gpu_node_pools.aws.access import create_node_access_entry_request, create_pod_identity_association_request
from gpu_node_pools.aws.karpenter_iam import CONTROLLER_POLICY_NAMES, OMITTED_STATEMENTS, add_role_to_instance_profile_request, attach_role_policy_request, cluster_identity, controller_policies, create_instance_profile_request, create_policy_request, create_role_request, node_trust_policy, pod_identity_trust_policy
from gpu_node_pools.config.karpenter import KARPENTER_NAMESPACE, KARPENTER_SERVICE_ACCOUNT
from gpu_node_pools.aws.karpenter_interruption import (
    INTERRUPTION_EVENTS,
    create_queue_request,
    interruption_queue_name,
    put_rule_request,
    put_targets_request,
    queue_policy,
    set_queue_policy_request,
)

CLUSTER = cluster_identity("arn:aws:eks:us-west-2:111122223333:cluster/gpu-prod")
NODE_ROLE = "arn:aws:iam::111122223333:role/gpu-prod-karpenter-node"
QUEUE = "arn:aws:sqs:us-west-2:111122223333:gpu-prod-karpenter"
QUEUE_URL = "https://sqs.us-west-2.amazonaws.com/111122223333/gpu-prod-karpenter"
UPSTREAM = Path(__file__).parent / "data" / "karpenter-cloudformation.yaml"


class _CloudFormationLoader(yaml.SafeLoader):
    """Reads CloudFormation's short-form tags: !Sub as its string, !GetAtt/!Ref as a `${...}` reference."""


_CloudFormationLoader.add_constructor("!Sub", lambda loader, node: loader.construct_scalar(node))
_CloudFormationLoader.add_constructor("!GetAtt", lambda loader, node: "${" + loader.construct_scalar(node) + "}")
_CloudFormationLoader.add_constructor("!Ref", lambda loader, node: "${" + loader.construct_scalar(node) + "}")


def upstream_template() -> dict[str, Any]:
    return yaml.load(UPSTREAM.read_text(), Loader=_CloudFormationLoader)  # noqa: S506 (a SafeLoader subclass)


def upstream_policies() -> dict[str, dict[str, Any]]:
    """Karpenter's managed policies for our cluster, `${...}` substituted, keyed like ours."""
    values = {
        "AWS::Partition": CLUSTER.partition, "AWS::Region": CLUSTER.region, "AWS::AccountId": CLUSTER.account_id,
        "ClusterName": CLUSTER.name, "KarpenterNodeRole.Arn": NODE_ROLE, "KarpenterInterruptionQueue.Arn": QUEUE,
    }
    policies = {}
    for resource_name, resource in upstream_template()["Resources"].items():
        if resource["Type"] != "AWS::IAM::ManagedPolicy":
            continue
        text = re.sub(r"\$\{([^}]+)\}", lambda m: values[m.group(1)], resource["Properties"]["PolicyDocument"])
        policies[resource_name.removesuffix("Policy")] = json.loads(text)
    return policies


def ours() -> dict[str, dict[str, Any]]:
    return controller_policies(CLUSTER, node_role_arn=NODE_ROLE, queue_arn=QUEUE)


def test_cluster_identity_reads_the_cluster_arn() -> None:
    assert tuple(cluster_identity("arn:aws-cn:eks:cn-north-1:111122223333:cluster/a")) == (
        "aws-cn", "cn-north-1", "111122223333", "a")
    with pytest.raises(ValueError, match="not an EKS cluster ARN"):
        cluster_identity("arn:aws:iam::111122223333:role/a")


def test_controller_policies_are_karpenters_own_statement_for_statement_less_the_omitted() -> None:
    upstream = upstream_policies()
    assert set(upstream) == set(CONTROLLER_POLICY_NAMES)
    upstream_sids = {s["Sid"] for doc in upstream.values() for s in doc["Statement"]}
    assert set(OMITTED_STATEMENTS) <= upstream_sids  # each omission names a statement upstream has
    kept = {name: {**doc, "Statement": [s for s in doc["Statement"] if s["Sid"] not in OMITTED_STATEMENTS]}
            for name, doc in upstream.items()}
    assert ours() == kept


def test_the_controller_may_not_create_change_or_delete_instance_profiles() -> None:
    """It is given the profile the stack creates; only reading profiles and passing the node role remain."""
    actions = {a for s in _statements() for a in _as_list(s["Action"]) if "InstanceProfile" in a}
    assert actions == {"iam:GetInstanceProfile", "iam:ListInstanceProfiles"}


def test_without_a_queue_there_is_no_interruption_policy() -> None:
    policies = controller_policies(CLUSTER, node_role_arn=NODE_ROLE, queue_arn=None)
    assert "Interruption" not in policies
    assert set(policies) == set(CONTROLLER_POLICY_NAMES) - {"Interruption"}


_MUTATING_EC2 = {"ec2:RunInstances", "ec2:CreateFleet", "ec2:CreateLaunchTemplate", "ec2:CreateTags",
                 "ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"}
# Resources RunInstances must name that Karpenter doesn't create and so can't tag: AMIs, subnets, groups ...
_UNTAGGABLE = re.compile(r":(image|snapshot|security-group|subnet|capacity-reservation|placement-group)/\*$")


def _statements() -> list[dict[str, Any]]:
    return [s for doc in ours().values() for s in doc["Statement"]]


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def test_every_mutating_ec2_or_iam_action_on_created_resources_is_tag_scoped_to_this_cluster() -> None:
    owned_keys = {f"aws:ResourceTag/kubernetes.io/cluster/{CLUSTER.name}",
                  f"aws:RequestTag/kubernetes.io/cluster/{CLUSTER.name}"}
    checked = 0
    for statement in _statements():
        actions = set(_as_list(statement["Action"]))
        mutating = actions & _MUTATING_EC2
        if not mutating or all(_UNTAGGABLE.search(r) for r in _as_list(statement["Resource"])):
            continue
        equals = statement["Condition"]["StringEquals"]
        assert owned_keys & set(equals), statement["Sid"]
        assert all(equals[k] == "owned" for k in owned_keys & set(equals)), statement["Sid"]
        like = statement["Condition"]["StringLike"]
        assert any(k.endswith(("karpenter.sh/nodepool", "karpenter.k8s.aws/ec2nodeclass")) for k in like), \
            statement["Sid"]
        checked += 1
    assert checked == 5  # launch template use, launch, creation tagging, tagging, deletion


def test_unscoped_resources_are_read_only() -> None:
    wildcard = [s for s in _statements() if s["Resource"] == "*"]
    actions = {a for s in wildcard for a in _as_list(s["Action"])}
    assert actions and all(re.match(r"^[\w-]+:(Describe|Get|List)", a) for a in actions), actions


def test_pass_role_only_passes_the_node_role_to_ec2() -> None:
    (statement,) = [s for s in _statements() if "iam:PassRole" in _as_list(s["Action"])]
    assert statement["Resource"] == NODE_ROLE
    assert statement["Condition"] == {"StringEquals": {"iam:PassedToService": ["ec2.amazonaws.com",
                                                                               "ec2.amazonaws.com.cn"]}}


def test_pod_identity_trust() -> None:
    (statement,) = pod_identity_trust_policy()["Statement"]
    assert statement["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    assert sorted(statement["Action"]) == ["sts:AssumeRole", "sts:TagSession"]


@pytest.mark.parametrize(("operation", "request_"), [
    ("CreateRole", create_role_request("gpu-prod-karpenter-controller", pod_identity_trust_policy(), "controller")),
    ("CreateRole", create_role_request("gpu-prod-karpenter-node", node_trust_policy(), "nodes")),
    *[("CreatePolicy", create_policy_request(f"gpu-prod-karpenter-{n}", d, n)) for n, d in ours().items()],
    ("AttachRolePolicy", attach_role_policy_request("r", "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy")),
    ("CreateInstanceProfile", create_instance_profile_request("gpu-prod-karpenter-node")),
    ("AddRoleToInstanceProfile", add_role_to_instance_profile_request("gpu-prod-karpenter-node", "r")),
])
def test_iam_requests_are_valid(operation: str, request_: dict[str, Any]) -> None:
    assert aws_problems("iam", operation, request_) == []


def test_every_policy_fits_iams_managed_policy_size() -> None:
    # IAM counts a managed policy's characters without whitespace; at most 6,144.
    for name, document in ours().items():
        assert len(json.dumps(document, separators=(",", ":"))) <= 6144, name


def test_eks_requests_are_valid() -> None:
    entry = create_node_access_entry_request("gpu-prod", NODE_ROLE)
    assert entry["type"] == "EC2_LINUX"
    assert eks_problems("CreateAccessEntry", entry) == []
    association = create_pod_identity_association_request(
        "gpu-prod", KARPENTER_NAMESPACE, KARPENTER_SERVICE_ACCOUNT, "arn:aws:iam::111122223333:role/c")
    assert (association["namespace"], association["serviceAccount"]) == ("kube-system", "karpenter")
    assert eks_problems("CreatePodIdentityAssociation", association) == []


def test_queue_request_is_valid_short_lived_and_encrypted() -> None:
    request = create_queue_request(interruption_queue_name("gpu-prod"), 300)
    assert aws_problems("sqs", "CreateQueue", request) == []
    assert request["Attributes"] == {"MessageRetentionPeriod": "300", "SqsManagedSseEnabled": "true"}
    upstream = upstream_template()["Resources"]["KarpenterInterruptionQueue"]["Properties"]
    assert (upstream["MessageRetentionPeriod"], upstream["SqsManagedSseEnabled"]) == (300, True)


def test_queue_name_fits_sqs_for_the_longest_cluster_name() -> None:
    name = interruption_queue_name("c" * 100)
    assert len(name) == 80 and name.endswith("-karpenter")
    assert re.match(r"^[\w-]{1,80}$", name)


def test_queue_policy_lets_eventbridge_send_and_refuses_plain_http() -> None:
    request = set_queue_policy_request(QUEUE_URL, QUEUE)
    assert aws_problems("sqs", "SetQueueAttributes", request) == []
    allow, deny = queue_policy(QUEUE)["Statement"]
    assert allow["Principal"]["Service"] == ["events.amazonaws.com", "sqs.amazonaws.com"]
    assert (allow["Action"], allow["Resource"]) == ("sqs:SendMessage", QUEUE)
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_rules_are_upstreams_and_valid() -> None:
    upstream = sorted(
        (r["Properties"]["EventPattern"]["source"], r["Properties"]["EventPattern"]["detail-type"])
        for r in upstream_template()["Resources"].values() if r["Type"] == "AWS::Events::Rule"
    )
    assert sorted(([e.source], [e.detail_type]) for e in INTERRUPTION_EVENTS) == upstream
    for event in INTERRUPTION_EVENTS:
        rule = put_rule_request(f"gpu-prod-{event.name}", event, "gpu-prod")
        assert aws_problems("events", "PutRule", rule) == []
        assert json.loads(rule["EventPattern"]) == {"source": [event.source], "detail-type": [event.detail_type]}
        assert aws_problems("events", "PutTargets", put_targets_request(rule["Name"], QUEUE)) == []


def test_the_four_interruption_kinds_karpenter_drains_for_are_covered() -> None:
    kinds = {e.detail_type for e in INTERRUPTION_EVENTS}
    assert {"EC2 Spot Instance Interruption Warning", "EC2 Instance Rebalance Recommendation",
            "EC2 Instance State-change Notification", "AWS Health Event"} <= kinds
