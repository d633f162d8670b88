"""The priority ladder: ordered, batch never preempts, no accidental global default (schema: test_object_builders.py)."""

from __future__ import annotations

from typing import Any

import pytest
from builder_samples import PRIORITY_CLASSES
from gpu_node_pools.config.priority_classes import (
    MAX_USER_PRIORITY,
    PriorityLadderConfig,
)
from gpu_node_pools.contract import IsolationContract
from gpu_node_pools.manifests.priority_classes import build_priority_classes
from k8s_objects import assert_refused

CUSTOM = PRIORITY_CLASSES["custom"]


def build(config: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    return build_priority_classes(PriorityLadderConfig.model_validate(config or {}), IsolationContract())


def by_name(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects}


def test_default_ladder_orders_serving_over_training_over_batch() -> None:
    classes = by_name(build())
    assert list(classes) == ["gpu-serving", "gpu-training", "gpu-batch", "general"]
    assert classes["gpu-serving"]["value"] > classes["gpu-training"]["value"] > classes["gpu-batch"]["value"]


@pytest.mark.parametrize(
    ("name", "policy"),
    [
        ("gpu-serving", "PreemptLowerPriority"),
        ("gpu-training", "PreemptLowerPriority"),
        ("gpu-batch", "Never"),
        ("general", "PreemptLowerPriority"),
    ],
)
def test_default_preemption_policies(name: str, policy: str) -> None:
    assert by_name(build())[name]["preemptionPolicy"] == policy


@pytest.mark.parametrize("config", [{}, CUSTOM], ids=["default", "custom"])
def test_user_classes_stay_below_the_system_classes(config: dict[str, Any]) -> None:
    for priority_class in build(config):
        assert priority_class["value"] <= MAX_USER_PRIORITY < 2_000_000_000
        assert not priority_class["metadata"]["name"].startswith("system-")


def test_no_global_default_unless_chosen() -> None:
    assert [o["metadata"]["name"] for o in build() if o["globalDefault"]] == []
    assert [o["metadata"]["name"] for o in build(CUSTOM) if o["globalDefault"]] == ["everything-else"]


def test_disabled_builds_nothing() -> None:
    assert build({"enabled": False}) == []


@pytest.mark.parametrize(
    ("classes", "key", "message"),
    [
        ([{"name": "huge", "value": MAX_USER_PRIORITY + 1}], "classes.0.value", "less than or equal to 1000000000"),
        ([{"name": "system-mine", "value": 1}], "classes.0.name", "reserved"),
        ([{"name": "Not_A_Name", "value": 1}], "classes.0.name", "DNS subdomain"),
        ([{"name": "a", "value": 1, "preemptionPolicy": "Sometimes"}], "classes.0.preemptionPolicy", "Input should be"),
        ([{"name": "a", "value": 1}, {"name": "a", "value": 2}], "classes", "duplicate priority class names: a"),
        (
            [{"name": "a", "value": 1, "globalDefault": True}, {"name": "b", "value": 2, "globalDefault": True}],
            "classes",
            "at most one class may be the global default",
        ),
        ([{"name": "a"}], "classes.0.value", "Field required"),
    ],
)
def test_bad_config_names_the_field(classes: list[dict[str, Any]], key: str, message: str) -> None:
    assert_refused(PriorityLadderConfig, {"classes": classes}, key, message)
