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
    assert types.count("aws:eks/nodeGroup:NodeGroup") == 2
    assert all(t.startswith("aws:") for t in types), "plan shows AWS resources only"
    gpu = next(r for r in declared if r["type"] == "aws:eks/nodeGroup:NodeGroup" and r["inputs"].get("taints"))
    assert gpu["inputs"]["taints"] == [{"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}]
    assert "scalingConfig.desiredSize" in gpu["ignore_changes"]


def test_the_table_names_each_resource_and_its_key_settings(capsys) -> None:
    table = plan(capsys, "prod")

    assert "aws:eks/cluster:Cluster  prod" in table
    assert "    name: gpu-prod" in table
    assert "(protected)" in table, "prod's node pools are protected"
    assert '"minSize":3' in table, "numbers print as the integers they are"


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


def test_the_plan_shows_a_shared_pools_sharing_on_its_node_group(tmp_path: Path, capsys) -> None:
    import yaml

    stack = yaml.safe_load((PROJECT_WITH_IMAGE / "stacks" / "Pulumi.dev.yaml").read_text())
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
