"""Every node group the stacks declare is a valid EKS CreateNodegroup request (botocore's EKS model), and every
launch template a valid EC2 CreateLaunchTemplate request (botocore's EC2 model)."""

import json

import pytest
from ec2_model import ec2_problems
from eks_model import eks_input_shape, eks_problems

from gpu_node_pools.cli import main
from gpu_node_pools.facts.amis import AMI_TYPES, RETIRED_AMI_TYPES

STACKS = ["dev", "prod", "local"]


def pools_json(stack: str, capsys: pytest.CaptureFixture[str], flag: str = "--json") -> list[dict]:
    assert main(["pools", "--stack", stack, flag]) == 0
    return json.loads(capsys.readouterr().out)


def by_pool(requests: list[dict]) -> dict[str, dict]:
    return {r["tags"]["gpu-node-pools.io/pool"]: r for r in requests}


@pytest.mark.parametrize("stack", STACKS)
def test_pools_json_is_a_valid_create_nodegroup_request(stack: str, capsys: pytest.CaptureFixture[str]) -> None:
    requests = pools_json(stack, capsys)
    assert requests, f"stack {stack} declares no pools"
    for request in requests:
        if stack == "local":  # simulated pools: no subnets exist; every other member must still be valid
            request["subnets"] = ["subnet-simulated"]
        assert eks_problems("CreateNodegroup", request) == [], request["nodegroupName"]


@pytest.mark.parametrize("stack", STACKS)
def test_node_groups_use_a_launch_template_and_no_disk_size(stack: str, capsys: pytest.CaptureFixture[str]) -> None:
    for request in pools_json(stack, capsys):
        assert set(request["launchTemplate"]) == {"id", "version"}
        assert "diskSize" not in request  # EKS rejects diskSize together with a launch template


@pytest.mark.parametrize("stack", STACKS)
def test_launch_templates_are_valid_create_launch_template_requests(
    stack: str, capsys: pytest.CaptureFixture[str]
) -> None:
    requests = pools_json(stack, capsys, "--launch-templates")
    assert len(requests) == len(pools_json(stack, capsys))
    for request in requests:
        assert ec2_problems("CreateLaunchTemplate", request) == [], request["LaunchTemplateName"]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_gpu_node_groups_are_tainted_and_general_ones_are_not(stack: str, capsys) -> None:
    for request in pools_json(stack, capsys):
        gpu = request["labels"].get("nvidia.com/gpu.present") == "true"
        taint_keys = [t["key"] for t in request["taints"]]
        assert ("nvidia.com/gpu" in taint_keys) is gpu, request["nodegroupName"]
        assert request["amiType"].endswith("NVIDIA") is gpu


def test_offered_ami_types_exist_in_the_eks_api_and_al2_is_not_offered() -> None:
    api_enum = set(eks_input_shape("CreateNodegroup").members["amiType"].enum)
    assert set(AMI_TYPES) <= api_enum
    assert not set(AMI_TYPES) & RETIRED_AMI_TYPES


def test_dev_has_no_gpu_node_group_and_prod_is_on_demand_and_protected(capsys) -> None:
    dev = by_pool(pools_json("dev", capsys))
    assert set(dev) == {"general"}, "dev's GPU capacity is elastic only"
    prod = by_pool(pools_json("prod", capsys))
    assert prod["gpu"]["capacityType"] == "ON_DEMAND"
    assert prod["general"]["scalingConfig"]["minSize"] >= 3
