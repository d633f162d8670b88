"""The one list of in-cluster parts: render, the platform's declared objects and its `object_ids` (the stack's
`inClusterObjects` export) list the same objects, every part shows up, and each part has its component."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest
from gpu_node_pools import pulumi_components
from gpu_node_pools.config.platform import PlatformConfig
from gpu_node_pools.config.stack_files import load_stack
from gpu_node_pools.mock_engine import MockEngine
from pulumi_harness import PROJECT_WITH_IMAGE
from gpu_node_pools.parts import (
    AUTO_MODE,
    COMPONENT_ARGS,
    IN_CLUSTER_PARTS,
    KARPENTER,
    in_cluster_objects,
    object_id,
)
from gpu_node_pools.pulumi_components.in_cluster import IN_CLUSTER_COMPONENTS
from gpu_node_pools.pulumi_components.platform import GpuPlatform

# The shipped stacks, and prod with the prometheus-operator objects on (no shipped stack turns them on).
CASES = ("dev", "prod", "local", "auto", "prod+monitoring")


def platform_config(case: str) -> PlatformConfig:
    stack, _, extra = case.partition("+")
    config = load_stack(stack, PROJECT_WITH_IMAGE, resolve_image=True)
    if extra == "monitoring":
        alerts = config.alerts.model_copy(update={"prometheus_rule": True, "pod_monitor": True})
        config = config.model_copy(update={"alerts": alerts})
    return config


def declared_on_mocks(case: str) -> tuple[list[str], list[str]]:
    """(ids of the Kubernetes objects the platform declares, its `object_ids` output) for a case's config."""
    mocks = MockEngine()
    pulumi.runtime.set_mocks(mocks, project="gpu-node-pools", stack="test", preview=False)
    exported: list[list[str]] = []

    @pulumi.runtime.test
    def program() -> pulumi.Output[Any]:
        platform = GpuPlatform("test", platform_config(case))
        return platform.object_ids.apply(exported.append)

    program()
    objects = [
        object_id({"kind": r.typ.rsplit(":", 1)[1], "metadata": r.inputs["metadata"]})
        for r in mocks.resources
        if r.typ.startswith("kubernetes:") and not r.typ.startswith("pulumi:providers") and "metadata" in r.inputs
    ]
    return sorted(objects), exported[0]


@pytest.mark.parametrize("case", CASES)
def test_render_the_declared_objects_and_the_export_list_the_same_objects(case: str) -> None:
    rendered = sorted(object_id(obj) for obj in in_cluster_objects(platform_config(case)))
    declared, exported = declared_on_mocks(case)
    assert len(rendered) > 20
    assert declared == rendered
    assert exported == rendered


def test_every_part_is_in_a_case() -> None:
    """The cases between them turn every part on, so the comparison above covers each."""
    kinds_by_part = {
        part.key: {obj["kind"] for case in CASES for obj in part.objects(platform_config(case))}
        for part in IN_CLUSTER_PARTS
    }
    assert [key for key, kinds in kinds_by_part.items() if not kinds] == []
    assert "NodePool" in kinds_by_part["nodePools"] and "EC2NodeClass" in kinds_by_part[KARPENTER]
    assert kinds_by_part[AUTO_MODE] == {"NodeClass"}


def test_each_part_has_one_component_and_the_package_serves_it() -> None:
    offered = [part for part in IN_CLUSTER_PARTS if part.args_model is not None]
    assert sorted(IN_CLUSTER_COMPONENTS) == sorted(part.key for part in offered)
    for part in offered:
        component = IN_CLUSTER_COMPONENTS[part.key]
        assert component.__name__ == part.component
        assert COMPONENT_ARGS[part.component] is part.args_model
        assert component in pulumi_components.COMPONENTS
    assert [c.__name__ for c in pulumi_components.COMPONENTS] == list(COMPONENT_ARGS)
