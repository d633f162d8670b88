"""Node pool config: defaults, derived facts, and the EKS request it becomes."""

import pytest
from pydantic import ValidationError

from gpu_node_pools.config.node_pool import NodePoolConfig
from gpu_node_pools.contract import IsolationContract, Taint
from gpu_node_pools.aws.nodegroup import DesiredSizePlan, desired_size_plan, nodegroup_request


def pool(**overrides) -> NodePoolConfig:
    values = {"name": "gpu", "kind": "gpu", "instanceTypes": ["g5.xlarge"], "scaling": {"min": 0, "max": 2}}
    return NodePoolConfig.model_validate({**values, **overrides})


def request(p: NodePoolConfig, contract: IsolationContract | None = None) -> dict:
    return nodegroup_request(
        p, contract or IsolationContract(), cluster_name="c", subnet_ids=["subnet-1"], node_role_arn="arn:role",
        launch_template={"id": "lt-1", "version": "1"},
    )


@pytest.mark.parametrize(
    ("overrides", "ami"),
    [
        ({}, "AL2023_x86_64_NVIDIA"),
        ({"instanceTypes": ["g5g.xlarge"]}, "AL2023_ARM_64_NVIDIA"),
        ({"amiType": "BOTTLEROCKET_x86_64_NVIDIA"}, "BOTTLEROCKET_x86_64_NVIDIA"),
        ({"kind": "general", "instanceTypes": ["m6i.large"]}, "AL2023_x86_64_STANDARD"),
        ({"kind": "general", "instanceTypes": ["m7g.large"]}, "AL2023_ARM_64_STANDARD"),
    ],
)
def test_ami_type_defaults_follow_kind_and_architecture(overrides: dict, ami: str) -> None:
    assert request(pool(**overrides))["amiType"] == ami


@pytest.mark.parametrize(
    "taint", [Taint("nvidia.com/gpu", "true", "NoSchedule"), Taint("workload", "heavy", "NoExecute")], ids=str
)
def test_gpu_pool_carries_the_contract_taint_in_eks_spelling(taint: Taint) -> None:
    req = request(pool(), IsolationContract(gpu_taint=taint))
    effect = {"NoSchedule": "NO_SCHEDULE", "NoExecute": "NO_EXECUTE"}[taint.effect]
    assert req["taints"][0] == {"key": taint.key, "value": taint.value, "effect": effect}
    assert req["labels"]["nvidia.com/gpu.present"] == "true"
    assert req["labels"]["gpu-node-pools.io/pool"] == "gpu"


def test_general_pool_has_no_gpu_taint_or_label() -> None:
    req = request(pool(name="general", kind="general", instanceTypes=["m6i.large"]))
    assert req["taints"] == []
    assert "nvidia.com/gpu.present" not in req["labels"]


def test_extra_taints_follow_the_contract_taint() -> None:
    req = request(pool(taints=[{"key": "team", "value": "ml", "effect": "PreferNoSchedule"}]))
    assert [t["key"] for t in req["taints"]] == ["nvidia.com/gpu", "team"]
    assert req["taints"][1]["effect"] == "PREFER_NO_SCHEDULE"


@pytest.mark.parametrize(
    ("scaling", "expected"),
    [({"min": 1, "max": 3}, 1), ({"min": 1, "max": 3, "desired": 2}, 2)],
)
def test_desired_size_defaults_to_min(scaling: dict, expected: int) -> None:
    assert request(pool(scaling=scaling))["scalingConfig"] == {
        "minSize": scaling["min"], "maxSize": scaling["max"], "desiredSize": expected
    }


@pytest.mark.parametrize(
    ("update", "expected"),
    [(None, {"maxUnavailablePercentage": 33}), ({"maxUnavailable": 1}, {"maxUnavailable": 1})],
)
def test_update_config_has_exactly_one_setting(update: dict | None, expected: dict) -> None:
    p = pool() if update is None else pool(update=update)
    assert request(p)["updateConfig"] == expected


def test_update_config_rejects_both_settings() -> None:
    with pytest.raises(ValidationError, match="only one of"):
        pool(update={"maxUnavailable": 1, "maxUnavailablePercentage": 10})


def test_gpu_instance_in_a_general_pool_is_refused() -> None:
    with pytest.raises(ValidationError, match="GPU instance"):
        pool(name="general", kind="general", instanceTypes=["g5.xlarge"])


def test_user_labels_cannot_override_the_contract() -> None:
    with pytest.raises(ValidationError, match="isolation contract"):
        pool(labels={"nvidia.com/gpu.present": "false"})


@pytest.mark.parametrize(
    ("ami", "builtin"), [("BOTTLEROCKET_x86_64_NVIDIA", True), ("AL2023_x86_64_NVIDIA", False)]
)
def test_pools_whose_image_runs_the_device_plugin_are_marked_for_ours_to_avoid(ami: str, builtin: bool) -> None:
    labels = request(pool(amiType=ami))["labels"]
    assert (labels.get("gpu-node-pools.io/builtin-device-plugin") == "true") is builtin


def test_request_names_the_launch_template_and_leaves_the_disk_to_it() -> None:
    req = request(pool(diskSize=300))
    assert req["launchTemplate"] == {"id": "lt-1", "version": "1"}
    assert "diskSize" not in req


def test_node_group_name_is_a_prefix_and_the_pool_label_stays_the_pool_name() -> None:
    req = request(pool(name="train"))
    assert req["nodegroupName"].startswith("train-") and req["nodegroupName"] != "train-"
    assert req["labels"]["gpu-node-pools.io/pool"] == "train"
    assert req["tags"]["gpu-node-pools.io/pool"] == "train"


@pytest.mark.parametrize(
    ("scaling", "live", "plan"),
    [
        ({"min": 0, "max": 2}, None, (0, True)),  # no live group: the initial size
        ({"min": 1, "max": 4, "desired": 2}, None, (2, True)),
        ({"min": 1, "max": 4}, 3, (1, True)),  # autoscaler's count is inside the bounds: leave it
        ({"min": 3, "max": 6}, 3, (3, True)),
        ({"min": 3, "max": 6}, 2, (3, False)),  # min rose above the live size: send max(min, desired)
        ({"min": 3, "max": 6, "desired": 4}, 2, (4, False)),
        ({"min": 1, "max": 5}, 8, (5, False)),  # max fell below the live size: send max
    ],
)
def test_desired_size_is_sent_only_when_the_live_one_falls_outside_the_new_bounds(
    scaling: dict, live: int | None, plan: tuple[int, bool]
) -> None:
    assert desired_size_plan(pool(scaling=scaling), live) == DesiredSizePlan(*plan)


def test_request_carries_the_planned_desired_size() -> None:
    p = pool(scaling={"min": 3, "max": 6})
    req = nodegroup_request(
        p, IsolationContract(), cluster_name="c", subnet_ids=["subnet-1"], node_role_arn="arn:role",
        launch_template={"id": "lt-1", "version": "1"}, desired_size=desired_size_plan(p, 2).desired,
    )
    assert req["scalingConfig"]["desiredSize"] == 3


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"name": "a" * 37}, "not a valid pool name"),
        ({"capacityType": "CAPACITY_BLOCK"}, "needs its reservation.s id"),
        ({"capacityReservationId": "cr-02168da1478b509e0"}, "only with capacityType CAPACITY_BLOCK"),
        ({"capacityType": "CAPACITY_BLOCK", "capacityReservationId": "res-1"}, "not a capacity reservation id"),
        ({"capacityType": "CAPACITY_BLOCK", "capacityReservationId": "cr-02168da1478b509e0",
          "instanceTypes": ["p5.48xlarge", "p4d.24xlarge"]}, "one instance type"),
        ({"instanceTags": {"aws:cloudformation": "x"}}, "reserved for AWS"),
    ],
    ids=["name-too-long-for-a-prefix", "block-without-id", "id-without-block", "bad-id", "block-two-types",
         "aws-tag"],
)
def test_pools_that_cannot_deploy_are_refused(overrides: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        pool(**overrides)


def test_a_36_character_pool_name_is_accepted() -> None:
    assert pool(name="a" * 36).name == "a" * 36
