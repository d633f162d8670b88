"""Karpenter in the dev and prod programs under Pulumi mocks: what is declared, with which inputs, in which order,
and every AWS request it makes valid in botocore's models."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_model import aws_problems
from eks_model import eks_problems
from k8s_schema import crd_schema_problems
from pulumi_harness import fake_aws_credentials, run_program, stack_model

from gpu_node_pools.manifests.karpenter_crds import karpenter_crds
from gpu_node_pools.mock_engine import DeclaredResource

CRD = "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition"
NODE_CLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
ASSOCIATION = "aws:eks/podIdentityAssociation:PodIdentityAssociation"


def of_type(resources: list[DeclaredResource], typ: str) -> list[DeclaredResource]:
    return [r for r in resources if r.type == typ]


def one(resources: list[DeclaredResource], typ: str, name_part: str = "") -> DeclaredResource:
    (found,) = [r for r in resources if r.type == typ and name_part in r.name]
    return found


def test_the_local_stack_declares_no_karpenter(stacks: dict[str, list[DeclaredResource]]) -> None:
    assert not [r for r in stacks["local"] if "karpenter" in r.name or r.type in (CRD, NODE_CLASS)]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_controller_waits_for_crds_identity_node_groups_and_dns(stacks: dict[str, list[DeclaredResource]], stack: str) -> None:
    resources = stacks[stack]
    deployment = one(resources, DEPLOYMENT, "karpenter")
    needs = set(deployment.depends_on)
    assert {c.name for c in of_type(resources, CRD)} <= needs
    assert one(resources, ASSOCIATION).name in needs
    addons = {a.inputs["addonName"]: a.name for a in of_type(resources, "aws:eks/addon:Addon")}
    assert {addons["eks-pod-identity-agent"], addons["coredns"]} <= needs
    pools = {p.name for p in of_type(resources, "gpu-node-pools:index:NodePool")}
    assert pools and pools <= needs


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_node_class_comes_after_the_controller_and_what_nodes_need(
    stacks: dict[str, list[DeclaredResource]], stack: str
) -> None:
    resources = stacks[stack]
    node_class = one(resources, NODE_CLASS)
    needs = set(node_class.depends_on)
    assert one(resources, CRD, "ec2nodeclasses").name in needs
    # Deleted before the controller, which must clear its finalizer.
    assert one(resources, DEPLOYMENT, "karpenter").name in needs
    assert one(resources, "aws:iam/instanceProfile:InstanceProfile").name in needs
    entry = [e for e in of_type(resources, "aws:eks/accessEntry:AccessEntry") if e.inputs["type"] == "EC2_LINUX"]
    assert len(entry) == 1 and entry[0].name in needs


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_node_class_is_valid_and_names_the_instance_profile(stacks: dict[str, list[DeclaredResource]], stack: str) -> None:
    resources = stacks[stack]
    node_class = one(resources, NODE_CLASS).inputs
    profile = one(resources, "aws:iam/instanceProfile:InstanceProfile")
    assert node_class["spec"]["instanceProfile"] == profile.name  # the mocks name it after the resource
    assert crd_schema_problems(node_class, karpenter_crds()) == []
    assert profile.inputs["role"] == one(resources, "aws:iam/role:Role", "karpenter-node").name


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_declared_objects_are_what_render_shows(stacks: dict[str, list[DeclaredResource]], stack: str) -> None:
    from gpu_node_pools.parts import karpenter_objects

    rendered = {(o["kind"], o["metadata"]["name"]): o for o in karpenter_objects(stack_model(stack))}
    deployment = one(stacks[stack], DEPLOYMENT, "karpenter").inputs
    assert deployment["spec"] == rendered["Deployment", "karpenter"]["spec"]
    crds = {c.inputs["metadata"]["name"] for c in of_type(stacks[stack], CRD)}
    assert crds == {name for kind, name in rendered if kind == "CustomResourceDefinition"}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_pod_identity_for_the_controller(stacks: dict[str, list[DeclaredResource]], stack: str) -> None:
    resources = stacks[stack]
    association = one(resources, ASSOCIATION)
    role = one(resources, "aws:iam/role:Role", "karpenter-controller")
    assert (association.inputs["namespace"], association.inputs["serviceAccount"]) == ("kube-system", "karpenter")
    assert association.inputs["roleArn"].endswith(role.name)
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    attachments = [a for a in of_type(resources, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
                   if a.inputs["role"] == role.name]
    assert len(attachments) == 6 and {a.name for a in attachments} <= set(association.depends_on)
    request = {"clusterName": "gpu", "namespace": association.inputs["namespace"],
               "serviceAccount": association.inputs["serviceAccount"], "roleArn": association.inputs["roleArn"]}
    assert eks_problems("CreatePodIdentityAssociation", request) == []


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_controller_policies_are_scoped_to_this_cluster(stacks: dict[str, list[DeclaredResource]], stack: str) -> None:
    cluster = stack_model(stack).cluster.name  # type: ignore[union-attr]
    policies = of_type(stacks[stack], "aws:iam/policy:Policy")
    assert len(policies) == 6
    for policy in policies:
        request = {"PolicyName": policy.name, "PolicyDocument": policy.inputs["policy"],
                   "Description": policy.inputs["description"]}
        assert aws_problems("iam", "CreatePolicy", request) == []
    lifecycle = json.loads(one(stacks[stack], "aws:iam/policy:Policy", "NodeLifecycle").inputs["policy"])
    conditions = json.dumps([s.get("Condition") for s in lifecycle["Statement"]])
    assert f"kubernetes.io/cluster/{cluster}" in conditions
    assert "arn:aws:ec2:us-west-2:" in json.dumps(lifecycle)  # the region read from the cluster's ARN


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_interruption_queue_rules_and_targets(stacks: dict[str, list[DeclaredResource]], stack: str) -> None:
    resources = stacks[stack]
    queue = one(resources, "aws:sqs/queue:Queue")
    assert queue.inputs["messageRetentionSeconds"] == 300 and queue.inputs["sqsManagedSseEnabled"] is True
    request = {"QueueName": queue.inputs["name"],
               "Attributes": {"MessageRetentionPeriod": str(int(queue.inputs["messageRetentionSeconds"])),
                              "SqsManagedSseEnabled": "true"}}
    assert aws_problems("sqs", "CreateQueue", request) == []
    queue_arn = f"arn:aws:sqs:us-west-2:123456789012:{queue.inputs['name']}"
    policy = one(resources, "aws:sqs/queuePolicy:QueuePolicy")
    assert json.loads(policy.inputs["policy"])["Statement"][0]["Resource"] == queue_arn
    rules = of_type(resources, "aws:cloudwatch/eventRule:EventRule")
    targets = of_type(resources, "aws:cloudwatch/eventTarget:EventTarget")
    assert len(rules) == len(targets) == 5
    for rule in rules:
        request = {"Name": rule.name, "EventPattern": rule.inputs["eventPattern"], "State": rule.inputs["state"]}
        assert aws_problems("events", "PutRule", request) == []
    for target in targets:
        assert target.inputs["arn"] == queue_arn and policy.name in target.depends_on
        request = {"Rule": target.inputs["rule"], "Targets": [{"Id": target.inputs["targetId"], "Arn": queue_arn}]}
        assert aws_problems("events", "PutTargets", request) == []
    settings = {e["name"]: e.get("value") for e in one(resources, DEPLOYMENT, "karpenter").inputs["spec"][
        "template"]["spec"]["containers"][0]["env"]}
    assert settings["INTERRUPTION_QUEUE"] == queue.inputs["name"]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_nodes_go_into_the_stacks_subnets_and_cluster_security_group_by_id_and_nothing_is_tagged(
    stacks: dict[str, list[DeclaredResource]], stack: str
) -> None:
    """Tags on the user's subnets would be shared with every stack in the VPC, and a destroy would strip them."""
    config = stack_model(stack).cluster
    assert of_type(stacks[stack], "aws:ec2/tag:Tag") == []
    node_class = one(stacks[stack], NODE_CLASS).inputs["spec"]
    assert node_class["subnetSelectorTerms"] == [{"id": s} for s in config.subnet_ids]  # type: ignore[union-attr]
    # The mocks give the cluster this security group.
    assert node_class["securityGroupSelectorTerms"] == [{"id": "sg-0123456789abcdef0"}]


def _node_role(resources: list[DeclaredResource]) -> tuple[DeclaredResource, list[Any]]:
    role = one(resources, "aws:iam/role:Role", "karpenter-node")
    policies = [a.inputs["policyArn"] for a in of_type(resources, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
                if a.inputs["role"] == role.name]
    return role, policies


def test_node_role_joins_as_ec2_linux_with_the_worker_policies(stacks: dict[str, list[DeclaredResource]]) -> None:
    role, policies = _node_role(stacks["prod"])
    assert json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]["Principal"] == {"Service": "ec2.amazonaws.com"}
    assert sorted(p.rsplit("/", 1)[1] for p in policies) == [
        "AmazonEC2ContainerRegistryPullOnly", "AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy"]
    (entry,) = [e for e in of_type(stacks["prod"], "aws:eks/accessEntry:AccessEntry") if e.inputs["type"] == "EC2_LINUX"]
    assert entry.inputs["principalArn"].endswith(role.name)
    request = {"clusterName": "gpu-prod", "principalArn": entry.inputs["principalArn"], "type": "EC2_LINUX"}
    assert eks_problems("CreateAccessEntry", request) == []


def test_disabling_the_queue_removes_it_and_its_policy() -> None:
    from pulumi_harness import stack_config

    config = stack_config("dev")
    config["gpu-node-pools:karpenter"] = json.dumps({"enabled": True, "interruptionQueue": {"enabled": False}})
    with pytest.MonkeyPatch.context() as env:
        fake_aws_credentials(env)
        resources = run_program("dev", config)
    assert not of_type(resources, "aws:sqs/queue:Queue") and not of_type(resources, "aws:cloudwatch/eventRule:EventRule")
    assert not [p for p in of_type(resources, "aws:iam/policy:Policy") if "Interruption" in p.name]
    env_names = {e["name"] for e in one(resources, DEPLOYMENT, "karpenter").inputs["spec"]["template"]["spec"][
        "containers"][0]["env"]}
    assert "INTERRUPTION_QUEUE" not in env_names


def test_an_elastic_mig_pool_gets_its_own_node_class_declared() -> None:
    """Declared as `render` shows it: after the controller and what nodes need, naming the same instance profile,
    valid against the CRD; the pool's NodePool names it, the other elastic pools keep the shared class."""
    from pulumi_harness import stack_config

    config = stack_config("dev")
    pools = json.loads(config["gpu-node-pools:nodePools"])
    pools.append({"name": "mig-elastic", "kind": "gpu", "sharing": {"mig": {"strategy": "single",
                                                                           "layout": "all-1g.10gb"}},
                  "elastic": {"instanceFamilies": ["p5"], "limits": {"gpus": 8}}})
    config["gpu-node-pools:nodePools"] = json.dumps(pools)
    with pytest.MonkeyPatch.context() as env:
        fake_aws_credentials(env)
        resources = run_program("dev", config)
    classes = {c.inputs["metadata"]["name"]: c for c in of_type(resources, NODE_CLASS)}
    assert set(classes) == {"gpu-node-pools", "gpu-node-pools-mig-elastic"}
    shared, own = classes["gpu-node-pools"], classes["gpu-node-pools-mig-elastic"]
    assert own.inputs["spec"]["instanceProfile"] == shared.inputs["spec"]["instanceProfile"]
    assert own.inputs["spec"]["userData"].startswith("MIME-Version: 1.0")
    assert "userData" not in shared.inputs["spec"]
    assert set(shared.depends_on) <= set(own.depends_on)
    assert crd_schema_problems(own.inputs, karpenter_crds()) == []
    refs = {p.inputs["metadata"]["name"]: p.inputs["spec"]["template"]["spec"]["nodeClassRef"]["name"]
            for p in of_type(resources, "kubernetes:karpenter.sh/v1:NodePool")}
    assert refs["mig-elastic"] == "gpu-node-pools-mig-elastic" and refs["gpu-elastic"] == "gpu-node-pools"
