"""`gpu-node-pools plan`: the AWS resources a stack declares, from the real components under Pulumi mocks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gpu_node_pools.cli import main
from pulumi_harness import PROJECT_WITH_IMAGE


def plan(capsys: pytest.CaptureFixture[str], stack: str, *extra: str) -> str:
    # The local stack's agent is the image `make image` built: the fixture project holds one.
    assert main(["--project-dir", str(PROJECT_WITH_IMAGE), "plan", "--stack", stack, *extra]) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_plan_lists_the_cluster_and_every_node_group_with_their_settings(stack: str, capsys) -> None:
    declared = json.loads(plan(capsys, stack, "--json"))
    types = [r["type"] for r in declared]

    assert types.count("aws:eks/cluster:Cluster") == 1
    # dev's GPU capacity is elastic only: its one node group is the static general pool.
    assert types.count("aws:eks/nodeGroup:NodeGroup") == (1 if stack == "dev" else 2)
    assert all(t.startswith("aws:") or t == "kubernetes:karpenter.sh/v1:NodePool" for t in types), (
        "plan shows AWS resources and the capacity Karpenter may launch, nothing else")
    node_pools = {r["inputs"]["metadata"]["name"]: r["inputs"]["spec"] for r in declared
                  if r["type"] == "kubernetes:karpenter.sh/v1:NodePool"}
    general = node_pools["general-elastic"]
    assert general["template"]["spec"]["taints"] == [] and set(general["limits"]) == {"cpu", "memory"}
    assert general["disruption"]["consolidationPolicy"] == "WhenEmptyOrUnderutilized"
    assert {"key": "karpenter.k8s.aws/instance-gpu-count", "operator": "DoesNotExist"} in (
        general["template"]["spec"]["requirements"])
    if stack == "dev":
        return
    gpu = next(r for r in declared if r["type"] == "aws:eks/nodeGroup:NodeGroup" and r["inputs"].get("taints"))
    assert gpu["inputs"]["taints"] == [{"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}]
    assert "scalingConfig.desiredSize" in gpu["ignore_changes"]


def test_the_table_names_each_resource_and_its_key_settings(capsys) -> None:
    table = plan(capsys, "prod")

    assert "aws:eks/cluster:Cluster  prod" in table
    assert "    name: gpu-prod" in table
    assert "(protected)" in table, "prod's node pools are protected"
    assert '"minSize":3' in table, "numbers print as the integers they are"
    assert "kubernetes:karpenter.sh/v1:NodePool  " in table and "    metadata.name: general-elastic" in table
    assert '    spec.limits: {"cpu":"64","memory":"256Gi"}' in table


def test_prod_plan_shows_who_reaches_the_endpoint_and_the_deployers_own_entry(capsys) -> None:
    blocks = {block.split("\n", 1)[0]: block for block in ("\n" + plan(capsys, "prod")).split("\naws:")[1:]}
    (rule,) = [b for head, b in blocks.items() if head.startswith("vpc/securityGroupIngressRule")]
    assert "    referencedSecurityGroupId: sg-0f1e2d3c4b5a60001\n" in rule
    assert "    fromPort: 443\n" in rule and "    toPort: 443\n" in rule and "    ipProtocol: tcp\n" in rule
    cluster = blocks["eks/cluster:Cluster  prod"]
    assert "    vpcConfig.endpointPublicAccess: false" in cluster
    assert "    accessConfig.bootstrapClusterCreatorAdminPermissions: false" in cluster
    creator = blocks["eks/accessPolicyAssociation:AccessPolicyAssociation  prod-creator-admin-policy"]
    assert "    principalArn: arn:aws:iam::<computed>:role/<role running pulumi up>" in creator
    assert "AmazonEKSClusterAdminPolicy" in creator


def test_a_stack_on_an_existing_cluster_declares_no_aws_resource(capsys) -> None:
    assert plan(capsys, "local").strip() == "no AWS resources: this stack deploys into an existing cluster"


def test_bad_config_fails_with_the_key_before_anything_is_declared(tmp_path: Path, capsys) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: gpu-node-pools\nruntime: python\n")
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "Pulumi.bad.yaml").write_text(
        "config:\n  gpu-node-pools:cluster: {mode: eks, name: c, subnetIds: [a]}\n")
    code = main(["--project-dir", str(tmp_path), "plan", "--stack", "bad"])

    assert code == 2
    assert "gpu-node-pools:cluster.subnetIds" in capsys.readouterr().err


def test_the_auto_mode_plan_shows_the_auto_mode_cluster_its_node_class_and_pools(capsys) -> None:
    table = plan(capsys, "auto")
    assert 'computeConfig: {"enabled":true,"nodeRoleArn":"arn:aws:iam::<computed>:role/auto-auto-node",' in table
    assert 'kubernetesNetworkConfig.elasticLoadBalancing: {"enabled":true}' in table
    assert 'storageConfig.blockStorage: {"enabled":true}' in table
    assert "kubernetes:eks.amazonaws.com/v1:NodeClass  nodeclass/gpu-node-pools" in table
    assert "aws:eks/addon:Addon" not in table and "aws:eks/nodeGroup:NodeGroup" not in table
    assert table.count("kubernetes:karpenter.sh/v1:NodePool  ") == 2


def test_the_plan_shows_a_shared_pools_sharing_on_its_node_group(tmp_path: Path, capsys) -> None:
    import yaml

    stack = yaml.safe_load((PROJECT_WITH_IMAGE / "stacks" / "Pulumi.prod.yaml").read_text())
    pools = stack["config"]["gpu-node-pools:nodePools"]
    gpu = next(p for p in pools if p["kind"] == "gpu" and "elastic" not in p)
    gpu.update(instanceTypes=["g6.xlarge"], sharing={"timeSlicing": {"replicas": 4}})
    (tmp_path / "Pulumi.yaml").write_text("name: gpu-node-pools\nruntime: python\n")
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "Pulumi.shared.yaml").write_text(yaml.safe_dump(stack))
    assert main(["--project-dir", str(tmp_path), "plan", "--stack", "shared"]) == 0
    table = capsys.readouterr().out
    assert '"gpu-node-pools.io/gpu-sharing":"time-slicing"' in table
    assert f'"nvidia.com/device-plugin.config":"{gpu["name"]}"' in table


def test_the_plan_shows_an_elastic_mig_pool_booting_from_its_own_node_class(tmp_path: Path, capsys) -> None:
    import yaml

    stack = yaml.safe_load((PROJECT_WITH_IMAGE / "stacks" / "Pulumi.prod.yaml").read_text())
    stack["config"]["gpu-node-pools:nodePools"].append({
        "name": "mig-elastic", "kind": "gpu", "sharing": {"mig": {"strategy": "single", "layout": "all-1g.10gb"}},
        "elastic": {"instanceFamilies": ["p5"], "limits": {"gpus": 8}}})
    (tmp_path / "Pulumi.yaml").write_text("name: gpu-node-pools\nruntime: python\n")
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "Pulumi.mig.yaml").write_text(yaml.safe_dump(stack))
    assert main(["--project-dir", str(tmp_path), "plan", "--stack", "mig"]) == 0
    table = capsys.readouterr().out
    block = table[table.index("mig-elastic"):]
    assert "spec.template.spec.nodeClassRef.name" in block and "gpu-node-pools-mig-elastic" in block
    assert '{"nvidia.com/gpu":"8"}' in block  # Karpenter's AWS provider counts whole GPUs while it launches
