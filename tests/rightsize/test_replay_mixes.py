"""The rightsize replay benchmark's pure half (benchmarks/rightsize_mixes.py): the seeded mixes get the
recommendations they are built to show, and applying them (time-slicing, MIG `single` pools, smaller GPUs, released
notebooks) gives valid pools whose slices hold every pod's peak."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import pytest
from gpu_node_pools.config.elastic import allowed_instance_types
from gpu_node_pools.config.platform import parse_platform_config
from gpu_node_pools.config.sharing import SharingConfig
from gpu_node_pools.manifests.kwok_instance_types import kwok_instance_types
from gpu_node_pools.rightsize.recommend import MEMORY_HEADROOM, Recommendation

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import rightsize_mixes as mixes  # noqa: E402


@pytest.fixture(scope="module")
def planned() -> dict[str, tuple[mixes.Mix, dict[str, Recommendation]]]:
    return {name: (mix := mixes.build_mix(name), mixes.advise(mix)) for name in mixes.MIXES}


def gpu_hours(pods: list[mixes.Pod]) -> float:
    return sum(p.requests[mixes.GPU] * p.minutes / 60 for p in pods)


def test_mixes_are_seeded() -> None:
    assert mixes.build_mix("mixed") == mixes.build_mix("mixed")
    assert mixes.build_mix("mixed", 0.25) != mixes.build_mix("mixed")


def test_each_mix_gets_the_advice_it_is_built_to_show(planned: dict) -> None:
    mix, advice = planned["inference-heavy"]
    small = [w for w in mix.workloads if w.name.startswith("svc-")]
    assert len(small) >= 30 and all(advice[w.name].target.startswith("time-slicing") for w in small)
    assert all(advice[w.name].action == "smaller-gpu" for w in mix.workloads if w.name.startswith("llm-"))

    mix, advice = planned["training-heavy"]
    assert all(advice[w.name].action == "keep" for w in mix.workloads if w.kind == "training")

    mix, advice = planned["mixed"]
    by_kind = {kind: {advice[w.name].action for w in mix.workloads if w.kind == kind}
               for kind in ("notebook", "batch", "training")}
    assert by_kind == {"notebook": {"release"}, "batch": {"keep"}, "training": {"keep"}}

    mix, advice = planned["big-gpu-inference"]
    services = [w for w in mix.workloads if w.kind == "inference"]
    assert len(services) >= 30 and {w.model for w in services} == {mixes.A100, mixes.H100}
    assert all(advice[w.name].target.startswith("mig ") for w in services)
    assert [advice[w.name].action for w in mix.workloads if w.kind == "training"] == ["keep"]


def test_usage_is_summarised_as_the_report_does() -> None:
    values = tuple([0.01] * 10 + [0.5] * 9 + [0.9])
    workload = mixes.Workload("w", "inference", "NVIDIA L4", 1, 4.0, ((0, 100),), values)
    usage = mixes.usage(workload)
    assert usage.idle_share == 0.5 and usage.utilization_p95 == 0.5  # nearest rank: the 19th of 20
    assert usage.memory_peak_bytes == 4 * 1024**3 and usage.memory_total_bytes == 23034 * 1024**2


def test_rightsized_pods_fit_their_slice_with_the_recommenders_headroom(planned: dict) -> None:
    shared = Counter()
    for mix, advice in planned.values():
        pods = mixes.rightsized_pods(mix, advice)
        pools = {p.name: p for p in mixes.platform(pods, "3s").node_pools}
        for pod in pods:
            pool = pools[pod.pool]
            if pool.sharing is not None and pool.sharing.time_slicing is not None:
                assert pool.sharing.time_slicing.replicas in mixes.SHARED_POOL_REPLICAS
            shared[pool.sharing.mechanism if pool.sharing else "whole"] += 1
            # The recommender promises headroom where it moves a workload; a kept one only has to fit.
            headroom = MEMORY_HEADROOM if advice[pod.workload].action in ("share", "smaller-gpu") else 1.0
            for t in allowed_instance_types(pool.elastic, pool.instance_types):
                assert pod.memory_peak_gib * 1024 * headroom <= mixes.slice_memory_mib(t.name, pool.sharing), pod
    assert shared["time-slicing"] > 50 and shared["mig"] > 50


@pytest.mark.parametrize(("instance_type", "sharing", "mib"), [
    ("g6.xlarge", None, 23034),
    ("g6.xlarge", {"timeSlicing": {"replicas": 4}}, 23034 / 4),
    ("p4d.24xlarge", {"mig": {"strategy": "single", "layout": "all-1g.5gb"}}, 40960 / 8),  # 1 of 8 memory slices
    ("p4d.24xlarge", {"mig": {"strategy": "single", "layout": "all-2g.10gb"}}, 40960 / 4),
    ("p5.48xlarge", {"mig": {"strategy": "single", "layout": "all-3g.40gb"}}, 81559 / 2),
])
def test_slice_memory_is_what_the_recommender_weighs(instance_type: str, sharing: dict | None, mib: float) -> None:
    assert mixes.slice_memory_mib(instance_type, SharingConfig.model_validate(sharing) if sharing else None) == mib


def test_pools_are_the_projects_own_and_offer_shares(planned: dict) -> None:
    mix, advice = planned["inference-heavy"]
    config = parse_platform_config(mixes.pool_config(mixes.whole_pods(mix) + mixes.rightsized_pods(mix, advice), "3s"),
                                   "test")
    pools = {p.name: p for p in config.node_pools}
    assert pools["inference-heavy-whole-gpu-g6"].sharing is None
    assert pools["inference-heavy-rs-gpu-g4dn"].elastic.instance_families == ["g4dn"]
    ts4 = pools["inference-heavy-rs-ts4-g6"]
    assert ts4.sharing.describe() == "time-slicing x4"
    offered = {t["name"]: t for t in kwok_instance_types(pools=config.node_pools)}
    assert offered["g6.xlarge.inference-heavy-rs-ts4-g6"]["resources"]["nvidia.com/gpu"] == "4"
    assert offered["g6.12xlarge.inference-heavy-rs-ts4-g6"]["resources"]["nvidia.com/gpu"] == "16"


def test_released_notebooks_hold_a_gpu_only_while_busy(planned: dict) -> None:
    mix, advice = planned["mixed"]
    whole = [p for p in mixes.whole_pods(mix) if p.workload.startswith("nb-")]
    released = [p for p in mixes.rightsized_pods(mix, advice) if p.workload.startswith("nb-")]
    notebooks = [w for w in mix.workloads if w.kind == "notebook"]
    assert len(whole) == len(notebooks) < len(released) <= sum(len(w.busy) for w in notebooks)
    sessions = [m for w in notebooks for _, m in w.busy]
    held_at_most = (sum(sessions) + len(sessions) * mixes.CULL_AFTER_MIN) / 60
    assert gpu_hours(released) <= held_at_most < gpu_hours(whole) / 5
    for w in notebooks:  # one pod at a time: a session starting within the cull joins the one before
        spans = sorted((p.start_min, p.start_min + p.minutes) for p in released if p.workload == w.name)
        assert all(end < start for (_, end), (start, _) in zip(spans, spans[1:]))
        assert all(any(s <= b and b + m <= e for s, e in spans) for b, m in w.busy)


def test_mig_advice_becomes_one_single_strategy_pool_per_family_and_profile() -> None:
    def service(name: str, model: str) -> mixes.Workload:
        return mixes.Workload(name, "inference", model, 1, 3.0, ((0, 60), (30, 60)), (0.1,) * 24)

    mix = mixes.Mix("m", (service("a", mixes.A100), service("b", mixes.A100), service("c", mixes.A100),
                          service("d", mixes.H100)))
    advised = {"a": "mig 1g.5gb", "b": "mig 1g.5gb", "c": "mig 2g.10gb", "d": "mig 1g.10gb"}
    advice = {name: Recommendation("share", target, "", 0.8) for name, target in advised.items()}
    pods = mixes.rightsized_pods(mix, advice)
    assert {p.workload: p.pool for p in pods} == {"a": "m-rs-mig1g5gb-p4d", "b": "m-rs-mig1g5gb-p4d",
                                                  "c": "m-rs-mig2g10gb-p4d", "d": "m-rs-mig1g10gb-p5"}
    assert all(p.requests == {mixes.GPU: 1} for p in pods)  # one MIG device, as `single` advertises it
    values = mixes.pool_config(pods, "3s", general=False)
    assert {p["name"]: p["sharing"] for p in values["nodePools"]} == {
        "m-rs-mig1g5gb-p4d": {"mig": {"strategy": "single", "layout": "all-1g.5gb"}},
        "m-rs-mig2g10gb-p4d": {"mig": {"strategy": "single", "layout": "all-2g.10gb"}},
        "m-rs-mig1g10gb-p5": {"mig": {"strategy": "single", "layout": "all-1g.10gb"}},
    }
    config = parse_platform_config(values, "test")  # the project's own checks pass: profiles of the pools' GPUs
    pools = {p.name: p for p in config.node_pools}
    assert [mixes.shares_per_gpu(pools[n]) for n in sorted(pools)] == [7, 7, 3]  # 1g.10gb H100, 1g.5gb, 2g.10gb
    offered = {t["name"]: t for t in kwok_instance_types(pools=config.node_pools)}
    assert offered["p4d.24xlarge.m-rs-mig1g5gb-p4d"]["resources"]["nvidia.com/gpu"] == "56"
    assert offered["p5.48xlarge.m-rs-mig1g10gb-p5"]["resources"]["nvidia.com/gpu"] == "56"


def test_mig_advice_off_a_mig_gpu_is_refused_with_the_workload_named() -> None:
    workload = mixes.Workload("svc-x", "inference", "NVIDIA L4", 1, 3.0, ((0, 60),), (0.1,))
    with pytest.raises(ValueError, match="svc-x.*mig 1g.5gb.*NVIDIA L4"):
        mixes.placement(workload, Recommendation("share", "mig 1g.5gb", "", 0.8))
