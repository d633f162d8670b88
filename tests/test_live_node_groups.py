"""The program-time lookup of live node groups: ours by their pool tag, nothing while there is no cluster."""

from typing import Any

import pulumi
import pytest
from gpu_node_pools.mock_engine import MockEngine
from gpu_node_pools.pulumi_components._live_node_groups import live_desired_sizes


def group(desired: int, pool: str | None) -> dict[str, Any]:
    tags = {"gpu-node-pools.io/pool": pool} if pool else {"team": "other"}
    return {"scalingConfigs": [{"desiredSize": desired, "minSize": 0, "maxSize": 9}], "tags": tags}


def use(mocks: pulumi.runtime.Mocks) -> None:
    pulumi.runtime.set_mocks(mocks, project="gpu-node-pools", stack="test", preview=False)


@pytest.mark.parametrize(
    ("groups", "expected"),
    [
        ({}, {}),
        ({"gpu-a": group(2, "gpu"), "general-b": group(3, "general")}, {"gpu": 2, "general": 3}),
        ({"managed-by-someone-else": group(5, None)}, {}),
        # Mid-replacement, old and new group carry the pool: the smaller size decides.
        ({"gpu-old": group(4, "gpu"), "gpu-new": group(1, "gpu")}, {"gpu": 1}),
    ],
    ids=["empty", "ours", "not-ours", "replacement"],
)
def test_live_sizes_are_keyed_by_the_pool_tag(groups: dict, expected: dict[str, int]) -> None:
    use(MockEngine({"c": groups}))
    assert live_desired_sizes("c") == expected


def test_a_cluster_that_does_not_exist_yet_has_no_live_groups() -> None:
    use(MockEngine({}))
    assert live_desired_sizes("not-created-yet") == {}


def test_other_lookup_errors_are_not_swallowed() -> None:
    class Denied(MockEngine):
        def call(self, args: pulumi.runtime.MockCallArgs) -> Any:
            return {}, [("clusterName", "AccessDeniedException: not authorized to perform eks:ListNodegroups")]

    use(Denied())
    with pytest.raises(Exception, match="AccessDeniedException"):
        live_desired_sizes("c")
