from __future__ import annotations

from dataclasses import replace

import pytest
from snapshot_builders import PREFIX, gpu, node

from gpu_node_agent.labels import (
    MEMORY_USED_BUCKETS,
    UTILIZATION_BUCKETS,
    LabelClash,
    LabelContext,
    gfd_labels,
    health_labels,
    label_value,
    live_labels,
    merge,
    sanitize_product,
    static_labels,
)
from gpu_node_agent.health import NodeHealth
from gpu_node_agent.labels.static import family
from gpu_node_agent.snapshot import NodeSnapshot

CTX = LabelContext(PREFIX)
P = PREFIX


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("NVIDIA H100 80GB HBM3", "NVIDIA-H100-80GB-HBM3"),
        ("Tesla T4", "Tesla-T4"),
        ("NVIDIA A100-SXM4-40GB", "NVIDIA-A100-SXM4-40GB"),
        ("NVIDIA GeForce RTX 4090 (rev. a1)", "NVIDIA-GeForce-RTX-4090-rev.-a1"),
        ("  NVIDIA  L4  ", "NVIDIA-L4"),  # runs of spaces become one dash, as GFD's strings.Fields join
        ("-NVIDIA L4.", "NVIDIA-L4"),  # GFD would keep these ends: not a valid label value
        ("NVIDIA " + "X" * 80, "NVIDIA-" + "X" * 56),  # cut to 63
        ("???", None),  # nothing valid left: omitted, not garbage
    ],
)
def test_product_is_sanitised_like_gfd_and_valid(name: str, expected: str | None) -> None:
    assert sanitize_product(name) == expected
    if expected is not None:
        assert len(expected) <= 63 and expected[0].isalnum() and expected[-1].isalnum()


@pytest.mark.parametrize(("raw", "expected"), [("550.54.15", "550.54.15"), ("r550+beta", "r550beta"), ("-.-", None)])
def test_label_value(raw: str, expected: str | None) -> None:
    assert label_value(raw) == expected


@pytest.mark.parametrize(
    ("capability", "expected"),
    [
        ((7, 0), "volta"),
        ((7, 5), "turing"),
        ((8, 0), "ampere"),
        ((8, 6), "ampere"),
        ((8, 9), "ada-lovelace"),
        ((9, 0), "hopper"),
        ((10, 0), "blackwell"),
        ((12, 0), "blackwell"),
        ((11, 0), "undefined"),
        ((13, 0), "rubin"),  # GFD since Rubin; was `undefined` here
    ],
)
def test_family_follows_gfd(capability: tuple[int, int], expected: str) -> None:
    assert family(*capability) == expected


def test_static_labels_of_an_h100_node() -> None:
    labels = static_labels(node(*(gpu(i) for i in range(8))), CTX)
    assert labels == {
        f"{P}gpu.product": "NVIDIA-H100-80GB-HBM3",
        f"{P}gpu.count": "8",
        f"{P}gpu.memory": "81559",
        f"{P}gpu.family": "hopper",
        f"{P}gpu.compute.major": "9",
        f"{P}gpu.compute.minor": "0",
        f"{P}mig.capable": "true",
        f"{P}cuda.driver-version.full": "550.54.15",
        f"{P}cuda.driver-version.major": "550",
        f"{P}cuda.driver-version.minor": "54",
        f"{P}cuda.driver-version.revision": "15",
        f"{P}cuda.runtime-version.major": "12",
        f"{P}cuda.runtime-version.minor": "4",
        f"{P}cuda.runtime-version.full": "12.4",
    }


@pytest.mark.parametrize(
    ("snapshot", "absent"),
    [
        (node(gpu(capability=None)), {f"{P}gpu.family", f"{P}gpu.compute.major"}),  # not supported: omitted
        (node(gpu(), driver=None, cuda=None), {f"{P}cuda.driver-version.full", f"{P}cuda.runtime-version.full"}),
        (node(gpu(mig_capable=None)), {f"{P}mig.capable"}),
    ],
)
def test_unreadable_facts_are_omitted(snapshot: NodeSnapshot, absent: set[str]) -> None:
    labels = static_labels(snapshot, CTX)
    assert not absent & labels.keys()
    assert labels[f"{P}gpu.count"] == "1"


def test_static_facts_come_from_a_readable_gpu_when_the_first_is_lost() -> None:
    labels = static_labels(node(gpu(0, name="", lost=True), gpu(1, name="Tesla T4", capability=(7, 5))), CTX)
    assert labels[f"{P}gpu.product"] == "Tesla-T4" and labels[f"{P}gpu.count"] == "2"


@pytest.mark.parametrize("snapshot", [NodeSnapshot(error="DriverNotLoaded"), NodeSnapshot()])
def test_sources_that_do_not_apply_return_nothing(snapshot: NodeSnapshot) -> None:
    assert static_labels(snapshot, CTX) == {} and live_labels(snapshot, CTX) == {} and gfd_labels(snapshot, CTX) == {}


@pytest.mark.parametrize(
    ("snapshot", "reason"),
    [
        (node(gpu(0), gpu(1)), None),
        (node(gpu(0), gpu(1, lost=True, errors=("GpuIsLost",))), "gpu-lost"),  # fatal: at once
        (node(gpu(0, lost=True, errors=("NotFound",))), "gpu-lost"),  # no handle
        (node(gpu(0, errors=("Unknown",))), None),  # one failed read is not yet a problem
        (NodeSnapshot(error="DriverNotLoaded"), None),
        (NodeSnapshot(), "no-gpus"),  # NVML answered but shows no GPU on a GPU node
    ],
)
def test_health_of_one_read(snapshot: NodeSnapshot, reason: str | None) -> None:
    expected = {f"{P}gpu.health": "ok"} if reason is None else {
        f"{P}gpu.health": "degraded",
        f"{P}gpu.health-reason": reason,
    }
    assert health_labels(snapshot, CTX) == expected


@pytest.mark.parametrize("reason", ["read-failing", "driver-not-loaded", "gpu-lost"])
def test_health_from_the_agents_history_wins(reason: str) -> None:
    ctx = LabelContext(P, health=NodeHealth(reason))
    assert health_labels(node(gpu()), ctx) == {f"{P}gpu.health": "degraded", f"{P}gpu.health-reason": reason}
    assert label_value(reason) == reason  # a valid label value as it is


GOOD = node(gpu(0), gpu(1))


@pytest.mark.parametrize(
    "failed",
    [
        NodeSnapshot(error="Unknown"),
        NodeSnapshot(error="DriverNotLoaded"),
        node(
            replace(gpu(0), memory_total_bytes=None, errors=("Unknown",)),
            gpu(1, name="", errors=("Unknown",)),
            driver=None,
        ),
        node(gpu(0, name="", errors=("Unknown",)), gpu(1, name="", errors=("Timeout",))),
    ],
)
def test_a_failed_read_keeps_the_last_good_static_facts(failed: NodeSnapshot) -> None:
    ctx = LabelContext(P, last_good=GOOD)
    assert static_labels(failed, ctx) == static_labels(GOOD, CTX)
    assert gfd_labels(failed, ctx) == gfd_labels(GOOD, CTX) and len(gfd_labels(GOOD, CTX)) == 3


def test_a_failed_read_still_updates_what_it_could_read() -> None:
    failed = node(gpu(0, errors=("Unknown",)), gpu(1, errors=("Unknown",)), gpu(2, errors=("Unknown",)))
    assert static_labels(failed, LabelContext(P, last_good=GOOD))[f"{P}gpu.count"] == "3"


def test_a_clean_read_replaces_the_last_good_facts() -> None:
    clean = node(gpu(0, name="Tesla T4", capability=(7, 5)), driver=None)
    labels = static_labels(clean, LabelContext(P, last_good=GOOD))
    assert labels == static_labels(clean, CTX) and f"{P}cuda.driver-version.full" not in labels


def test_gfd_mode_writes_only_gfds_three_keys() -> None:
    assert gfd_labels(node(gpu(), gpu(1)), CTX) == {
        "nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3",
        "nvidia.com/gpu.count": "2",
        "nvidia.com/gpu.memory": "81559",
    }


@pytest.mark.parametrize(
    ("buckets", "value", "published", "expected"),
    [
        (UTILIZATION_BUCKETS, 0, None, "0-10"),
        (UTILIZATION_BUCKETS, 10, None, "10-50"),
        (UTILIZATION_BUCKETS, 95, None, "80-100"),
        (UTILIZATION_BUCKETS, 100, None, "80-100"),
        # Hovering at an edge: stays in the published bucket until 5 points past it.
        (UTILIZATION_BUCKETS, 52, "10-50", "10-50"),
        (UTILIZATION_BUCKETS, 54.9, "10-50", "10-50"),
        (UTILIZATION_BUCKETS, 55, "10-50", "50-80"),
        (UTILIZATION_BUCKETS, 46, "50-80", "50-80"),
        (UTILIZATION_BUCKETS, 44.9, "50-80", "10-50"),
        (UTILIZATION_BUCKETS, 3, "50-80", "0-10"),  # a big jump goes straight to its bucket
        (MEMORY_USED_BUCKETS, 76, "50-75", "50-75"),
        (MEMORY_USED_BUCKETS, 80, "50-75", "75-100"),
        (MEMORY_USED_BUCKETS, 60, "garbage", "50-75"),  # an unknown published value is ignored
    ],
)
def test_buckets_with_hysteresis(buckets, value: float, published: str | None, expected: str) -> None:
    assert buckets.with_hysteresis(value, published) == expected


def test_live_labels_aggregate_the_node_and_skip_lost_gpus() -> None:
    snapshot = node(gpu(0, used_mib=60000, util=90), gpu(1, used_mib=0, util=10), gpu(2, lost=True, util=None))
    assert live_labels(snapshot, CTX) == {f"{P}gpu.memory-used": "25-50", f"{P}gpu.utilization": "50-80"}


def test_live_labels_use_the_published_bucket() -> None:
    snapshot = node(gpu(util=52))
    assert live_labels(snapshot, LabelContext(P, {f"{P}gpu.utilization": "10-50"}))[f"{P}gpu.utilization"] == "10-50"
    assert live_labels(snapshot, CTX)[f"{P}gpu.utilization"] == "50-80"


def test_merge_fails_on_a_clash() -> None:
    assert merge({"a": "1"}, {"b": "2"}) == {"a": "1", "b": "2"}
    with pytest.raises(LabelClash, match="'a'"):
        merge({"a": "1"}, {"a": "2"})
