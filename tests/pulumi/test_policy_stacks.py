"""Every stack program (dev, prod, local) passes every check of the policy pack.

The programs run under Pulumi's mocks (gpu_node_pools.mock_engine, through tests/pulumi_harness.py) because dev and prod need pulumi-aws's provider,
which is not built here; the resources, types and inputs are the ones the real engine would hand to the pack. This
is where the EKS node-group policy meets our real node groups.
"""

from __future__ import annotations

import json

import gpu_policies as checks
import pytest
from gnp_pulumi import ROOT
from gpu_node_pools.mock_engine import DeclaredResource
from pulumi_harness import fake_aws_credentials, run_program

ALL_CHECKS = [checks.check_resources, checks.check_gpu_toleration, checks.check_images_pinned,
              checks.check_non_root, checks.check_gpu_node_group_taint, checks.check_priority_class_default,
              checks.check_node_class_ami_pinned]


@pytest.mark.parametrize("stack", ["dev", "prod", "local"])
def test_stack_passes_every_policy(stacks: dict[str, list[DeclaredResource]], stack: str) -> None:
    problems = [p for r in stacks[stack] for check in ALL_CHECKS for p in check(r.type, r.inputs)]
    assert problems == []


def policy_config(name: str) -> dict:
    return json.loads((ROOT / "policies" / f"{name}.json").read_text())


@pytest.mark.parametrize(("stack", "passes"), [("prod", True), ("dev", False), ("local", False)])
def test_prod_policy_config_requires_digests_and_prod_pins_every_image(
    stacks: dict[str, list[DeclaredResource]], stack: str, passes: bool
) -> None:
    """`pulumi preview --stack prod --policy-pack policies --policy-pack-config policies/prod.json`, under mocks."""
    config = policy_config("prod")
    assert config["images-pinned"] == {"requireImageDigests": True}
    require = config["images-pinned"]["requireImageDigests"]
    problems = [p for r in stacks[stack] for p in checks.check_images_pinned(r.type, r.inputs, require)]
    assert (problems == []) is passes, problems
    images = [c["image"] for r in stacks[stack] for spec in checks.pod_templates(r.type, r.inputs)
              for c in spec["containers"]]
    # device plugin, metrics-server, node agent, and Karpenter's controller on EKS (locally, the two shared elastic
    # pools' own device plugins instead): the check saw every workload
    assert len(images) == (5 if stack == "local" else 4)


@pytest.mark.parametrize(("stack", "passes"), [("prod", True), ("dev", True)])
def test_prod_policy_config_requires_a_dated_ami_and_the_stacks_pin_one(
    stacks: dict[str, list[DeclaredResource]], stack: str, passes: bool
) -> None:
    config = policy_config("prod")
    assert config["karpenter-ami-pinned"] == {"requireDatedAmiAlias": True}
    node_classes = [r for r in stacks[stack] if r.type.endswith(":EC2NodeClass")]
    assert len(node_classes) == 1  # the check sees the node class
    problems = [p for r in stacks[stack] for p in checks.check_node_class_ami_pinned(r.type, r.inputs, True)]
    assert (problems == []) is passes, problems


def test_prod_policy_config_refuses_a_node_class_following_latest() -> None:
    from pulumi_harness import stack_config

    config = stack_config("prod")
    karpenter = json.loads(config["gpu-node-pools:karpenter"])
    karpenter["nodeClass"]["amiAlias"] = "al2023@latest"
    config["gpu-node-pools:karpenter"] = json.dumps(karpenter)
    with pytest.MonkeyPatch.context() as env:
        fake_aws_credentials(env)
        resources = run_program("prod", config)
    require = policy_config("prod")["karpenter-ami-pinned"]["requireDatedAmiAlias"]
    problems = [p for r in resources for p in checks.check_node_class_ami_pinned(r.type, r.inputs, require)]
    assert len(problems) == 1 and "al2023@latest" in problems[0]


@pytest.mark.parametrize("stack", ["prod"])  # dev's GPU capacity is elastic only: no GPU node group
def test_the_node_group_policy_sees_the_gpu_pools(stacks: dict[str, list[DeclaredResource]], stack: str) -> None:
    groups = [r for r in stacks[stack] if r.type == "aws:eks/nodeGroup:NodeGroup"]
    untainted = [checks.check_gpu_node_group_taint(r.type, {**r.inputs, "taints": []}) for r in groups]
    assert any(untainted), "no node group of this stack counts as a GPU pool for the policy"
    assert not all(untainted), "every node group counts as a GPU pool, general ones too"
