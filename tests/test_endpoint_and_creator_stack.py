"""The stacks under Pulumi's mocks: who may reach the API endpoint, and the deployer's own, visible admin entry,
declared before any Kubernetes object is sent."""

import dataclasses
import json

import pytest
from gpu_node_pools.mock_engine import EXAMPLE_VALUES, DeclaredResource, MockEngine, run_stack_program
from pulumi_harness import ROOT, fake_aws_credentials, run_program, stack_config

CLUSTER = "aws:eks/cluster:Cluster"
GROUP = "aws:ec2/securityGroup:SecurityGroup"
RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
ENTRY = "aws:eks/accessEntry:AccessEntry"
ASSOCIATION = "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"
PROVIDER = "pulumi:providers:kubernetes"
# The mock engine's caller identity (an assumed-role session) and the role behind it.
DEPLOYER_ROLE = "arn:aws:iam::123456789012:role/gpu-platform-deployer"


@pytest.fixture(autouse=True)
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_aws_credentials(monkeypatch)


def of_type(resources: list[DeclaredResource], typ: str) -> list[DeclaredResource]:
    return [r for r in resources if r.type == typ]


def with_cluster(stack: str, **keys: object) -> list[DeclaredResource]:
    config = stack_config(stack)
    cluster = {**json.loads(config["gpu-node-pools:cluster"]), **keys}
    return run_program(stack, {**config, "gpu-node-pools:cluster": json.dumps({k: v for k, v in cluster.items()
                                                                              if v is not None})})


def test_prod_private_endpoint_admits_its_named_security_group_on_443(stacks: dict) -> None:
    (cluster,) = of_type(stacks["prod"], CLUSTER)
    (group,) = of_type(stacks["prod"], GROUP)
    (rule,) = of_type(stacks["prod"], RULE)
    assert cluster.inputs["vpcConfig"]["endpointPublicAccess"] is False
    assert cluster.inputs["vpcConfig"]["securityGroupIds"] == [f"{group.name}-id"]
    assert group.inputs["vpcId"] == EXAMPLE_VALUES.vpc  # the subnets' VPC, looked up
    assert rule.inputs == {
        "securityGroupId": f"{group.name}-id", "ipProtocol": "tcp", "fromPort": 443, "toPort": 443,
        "referencedSecurityGroupId": "sg-0c5d9e83b1a4f0001", "description": "Kubernetes API from this security group",
    }
    assert rule.name in cluster.depends_on  # reachable as soon as the cluster is


def test_dev_public_endpoint_is_open_only_to_the_cidrs_it_names(stacks: dict) -> None:
    (cluster,) = of_type(stacks["dev"], CLUSTER)
    assert cluster.inputs["vpcConfig"]["publicAccessCidrs"] == ["34.220.10.0/24"]
    assert of_type(stacks["dev"], RULE) == []


def test_private_cidrs_become_one_rule_each() -> None:
    resources = with_cluster("dev", endpointPublicAccess=False, publicAccessCidrs=None,
                             privateAccessCidrs=["10.20.0.0/16", "fd00:10::/64"])
    rules = of_type(resources, RULE)
    assert [(r.inputs.get("cidrIpv4"), r.inputs.get("cidrIpv6"), r.inputs["fromPort"]) for r in rules] == [
        ("10.20.0.0/16", None, 443), (None, "fd00:10::/64", 443)]


def test_a_private_endpoint_nobody_may_reach_is_refused_before_any_resource() -> None:
    with pytest.raises(Exception, match=r"gpu-node-pools:cluster\.privateAccessCidrs: the API endpoint is private"):
        with_cluster("dev", endpointPublicAccess=False, publicAccessCidrs=None)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_deployer_gets_a_visible_cluster_admin_entry(stacks: dict, stack: str) -> None:
    (entry,) = [e for e in of_type(stacks[stack], ENTRY) if e.inputs["principalArn"] == DEPLOYER_ROLE]
    (association,) = [a for a in of_type(stacks[stack], ASSOCIATION) if a.inputs["principalArn"] == DEPLOYER_ROLE]
    assert entry.inputs["type"] == "STANDARD"
    assert association.inputs["policyArn"] == "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
    assert association.inputs["accessScope"] == {"type": "cluster"} and entry.name in association.depends_on
    assert of_type(stacks[stack], CLUSTER)[0].inputs["accessConfig"]["bootstrapClusterCreatorAdminPermissions"] is False


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_no_kubernetes_object_is_sent_before_the_access_exists(stacks: dict, stack: str) -> None:
    """Every Kubernetes object goes through the cluster's provider, and the provider waits for every access entry's
    policy association, the deployer's included."""
    engine = MockEngine()
    run_stack_program(ROOT, stack, stack_config(stack), engine)
    (provider,) = of_type(stacks[stack], PROVIDER)
    assert set(provider.depends_on) == {a.name for a in of_type(stacks[stack], ASSOCIATION)}
    objects = [r for r in engine.resources if r.typ.startswith("kubernetes:")]
    assert objects and all(r.provider and f"::{provider.name}::" in r.provider for r in objects)


def test_creator_admin_off_declares_no_entry_for_the_deployer() -> None:
    resources = with_cluster("dev", creatorAdmin=False)
    assert DEPLOYER_ROLE not in [e.inputs["principalArn"] for e in of_type(resources, ENTRY)]
    assert of_type(resources, ASSOCIATION) == []


def test_an_explicit_creator_arn_keeps_its_role_path() -> None:
    """STS's session ARN drops a role's path; the explicit key names the role as IAM knows it."""
    role = "arn:aws:iam::210987654321:role/platform/gpu-deployer"
    resources = with_cluster("dev", creatorPrincipalArn=role)
    assert [a.inputs["principalArn"] for a in of_type(resources, ASSOCIATION)] == [role]


def test_the_deployer_listed_in_cluster_access_too_is_refused_before_any_resource() -> None:
    config = stack_config("prod")
    cluster = json.loads(config["gpu-node-pools:cluster"])
    cluster["access"][0]["principalArn"] = "arn:aws:iam::210987654321:role/deployer"
    caller = "arn:aws:sts::210987654321:assumed-role/deployer/ci"
    engine = MockEngine(values=dataclasses.replace(EXAMPLE_VALUES, caller_arn=caller))
    with pytest.raises(Exception, match="cluster.creatorAdmin already makes"):
        run_stack_program(ROOT, "prod", {**config, "gpu-node-pools:cluster": json.dumps(cluster)}, engine)
    assert [r.typ for r in engine.resources if r.typ.startswith("aws:")] == []
