"""The rightsize report on recorded Prometheus answers (tests/data/rightsize/, made by record.py from a real
Prometheus holding rightsize_fleet's day): each workload's recommendation and reason, its owner with and without
kube-state-metrics, the pool summary, and the errors for missing series."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from gpu_node_pools.rightsize import MissingSeries, Window, build_report, report_json
from gpu_node_pools.rightsize_table import rightsize_table
from rightsize_fleet import EXPECTED

DATA = Path(__file__).resolve().parents[1] / "data" / "rightsize"
KSM_ANSWERS = ("podOwner", "replicaSetOwner", "jobOwner", "nodePool")


def recorded(name: str, drop: tuple[str, ...] = ()) -> tuple[dict[str, Any], Window]:
    data = json.loads((DATA / f"{name}.json").read_text())
    return {k: v for k, v in data["answers"].items() if k not in drop}, Window(**data["window"])


def workloads(drop: tuple[str, ...] = ()) -> dict[tuple[str, str, str], dict[str, Any]]:
    answers, window = recorded("fleet-day", drop)
    report = report_json(build_report(answers, window))
    return {(w["namespace"], w["kind"], w["name"]): w for w in report["workloads"]}


@pytest.mark.parametrize("drop", [(), KSM_ANSWERS], ids=["kube_pod_owner", "pod-name-stems"])
def test_each_workload_gets_its_recommendation(drop: tuple[str, ...]) -> None:
    found = workloads(drop)
    assert {key: (w["recommendation"]["action"], w["recommendation"]["target"]) for key, w in found.items()} \
        == EXPECTED
    assert {w["ownerFrom"] for w in found.values()} == ({"pod name"} if drop else {"kube_pod_owner"})


@pytest.mark.parametrize(("key", "reason"), [
    (("research", "StatefulSet", "jupyter-alice"), "idle (under 5% utilization) 94% of the time it held GPUs"),
    (("serving", "Deployment", "embedder"),
     "peak memory 4.6 GiB and p95 utilization 18% fit 1/4 of the GPU (5.6 GiB) with 20 % headroom; "
     "time-slicing does not isolate memory or faults"),
    (("serving", "Deployment", "chat-small"),
     "peak memory 13.0 GiB and p95 utilization 31% fit MIG 3g.40gb (39.8 GiB, 3/7 of the compute) with 20 % headroom"),
    (("serving", "StatefulSet", "vector-db"),
     "peak memory 9.0 GiB and p95 utilization 10% fit MIG 1g.20gb (19.9 GiB, 1/7 of the compute) with 20 % headroom"),
    (("serving", "Deployment", "summarizer"),
     "peak memory 16.0 GiB fits a NVIDIA L4 (22.5 GiB) with 20 % headroom at p95 utilization 53%; "
     "$0.80 instead of $1.86 a GPU-hour"),
    (("ml-train", "Job", "llm-finetune"), "p95 utilization 93% and peak memory 70.0 GiB need the whole GPU"),
    (("batch", "Deployment", "queue-worker"),
     "busy in bursts (p95 utilization 95%) and idle 67% of the time: a slice would slow the bursts; an elastic pool "
     "gives the GPU back between them if the workload exits"),
])
def test_each_reason_says_what_decided_it(key: tuple[str, str, str], reason: str) -> None:
    assert workloads()[key]["recommendation"]["reason"] == reason


def test_usage_per_workload() -> None:
    found = workloads()
    reranker = found[("serving", "Deployment", "reranker")]
    training, cron = found[("ml-train", "Job", "llm-finetune")], found[("batch", "CronJob", "nightly-embed")]
    assert reranker["pods"] == ["reranker-5c8d4b7f9-h2mzq", "reranker-5c8d4b7f9-w7tnr"]
    assert (reranker["gpusHeld"], reranker["gpuHours"], reranker["pool"]) == (2, 48.0, "gpu-a10g")
    # Eight GPUs for 22 hours (the step that ends just after the job counts whole).
    assert training["gpusHeld"] == 8 and 176 <= training["gpuHours"] <= 177.5
    assert training["memoryPeakBytes"] == 70 * 1024**3 and training["utilizationP95"] == pytest.approx(0.93, abs=0.02)
    # Three Jobs of one CronJob: 90 minutes each, a GPU only while they run.
    assert len(cron["pods"]) == 3 and cron["gpuHours"] == pytest.approx(4.5, abs=0.5) and cron["idleShare"] == 0


def test_savings_are_the_cost_share_no_longer_held() -> None:
    found = workloads()
    a10g_month = 1.006 * 730
    notebook = found[("research", "StatefulSet", "jupyter-alice")]
    embedder, chat = found[("serving", "Deployment", "embedder")], found[("serving", "Deployment", "chat-small")]
    assert notebook["monthlyCostUsd"] == pytest.approx(a10g_month, abs=1)
    assert notebook["recommendation"]["monthlySavingsUsd"] == notebook["monthlyCostUsd"]
    assert embedder["recommendation"]["monthlySavingsUsd"] == pytest.approx(0.75 * a10g_month, abs=1)
    # 3g.40gb takes 3/7 of the compute and half the memory: half the GPU.
    assert chat["recommendation"]["monthlySavingsUsd"] == pytest.approx(0.5 * 55.04 / 8 * 730, abs=2)
    assert found[("ml-train", "Job", "llm-finetune")]["recommendation"]["monthlySavingsUsd"] == 0


def test_pool_summary_allocated_against_used() -> None:
    answers, window = recorded("fleet-day")
    pools = {p["pool"]: p for p in report_json(build_report(answers, window))["pools"]}
    assert set(pools) == {"gpu-a10g", "gpu-h100", "gpu-l40s"}
    h100 = pools["gpu-h100"]
    assert (h100["gpus"], h100["gpuHours"]) == (16, 384.0)
    # Training's 8 GPUs for about 22 h, two serving GPUs all day; six GPUs held by nobody.
    assert 225 <= h100["allocatedGpuHours"] <= 226
    assert h100["usedGpuHours"] < h100["allocatedGpuHours"]
    assert h100["monthlyCostUsd"] == pytest.approx(16 * 55.04 / 8 * 730, abs=1)
    assert h100["monthlyUnusedUsd"] == pytest.approx(
        h100["monthlyCostUsd"] * (1 - h100["usedGpuHours"] / h100["gpuHours"]), abs=1)
    # Without kube-state-metrics' node labels, pools are named by GPU model.
    answers, window = recorded("fleet-day", KSM_ANSWERS)
    assert {p["pool"] for p in report_json(build_report(answers, window))["pools"]} == {
        "NVIDIA A10G", "NVIDIA H100 80GB HBM3", "NVIDIA L40S"}


def test_table_for_people() -> None:
    answers, window = recorded("fleet-day")
    text = rightsize_table(build_report(answers, window))
    lines = text.splitlines()
    assert lines[0] == ("GPU use from 2025-11-30 00:00 to 2025-12-01 00:00 UTC (step 600s); "
                        "$ a month at on-demand prices")
    assert lines[1].split()[:4] == ["NAMESPACE", "WORKLOAD", "POOL", "GPU"]
    # Largest saving first.
    assert lines[2].split()[:3] == ["serving", "StatefulSet/vector-db", "gpu-h100"]
    assert "POOL      GPU                    GPUS  GPU-H  ALLOCATED GPU-H  USED GPU-H  $/MONTH  UNUSED $/MONTH" in text
    assert lines[-1].startswith("recommendations save about $")


def test_series_without_pod_labels_name_the_switch() -> None:
    answers, window = recorded("fleet-day-no-pod-resources")
    with pytest.raises(MissingSeries) as error:
        build_report(answers, window)
    assert "nodeAgent.podResources: true" in str(error.value) and "--pod-resources" in str(error.value)
    assert "gpu_node_agent_pod_resources_up" in str(error.value)


def test_no_agent_series_names_the_metric_and_the_scrape_job() -> None:
    empty = {"resultType": "matrix", "result": []}
    with pytest.raises(MissingSeries, match="no gpu_node_agent_gpu_utilization_ratio series in the window: "
                                            "is Prometheus scraping the node agent"):
        build_report({"utilization": empty, "memory": empty}, Window(end=1e9, seconds=3600, step=60))


def test_attribution_on_but_no_gpu_pods_is_a_report_without_workloads() -> None:
    utilization = {"resultType": "matrix", "result": [{"metric": {"UUID": "GPU-1", "modelName": "NVIDIA L4",
                                                                  "node": "n1"}, "values": [[1e9, "0"]]}]}
    up = {"resultType": "vector", "result": [{"metric": {"node": "n1"}, "value": [1e9, "1"]}]}
    report = build_report({"utilization": utilization, "podResourcesUp": up}, Window(end=1e9, seconds=60, step=60))
    assert report.workloads == ()
    assert [(p.pool, p.gpus, p.allocated_gpu_hours) for p in report.pools] == [("NVIDIA L4", 1, 0.0)]


def test_a_window_longer_than_the_data_prices_the_hours_seen() -> None:
    """A fleet watched for one day of a three-day window costs per month what that day says, not a third of it."""
    answers, window = recorded("fleet-day")
    longer = Window(end=window.end, seconds=3 * 86400, step=window.step)
    day, three_days = report_json(build_report(answers, window)), report_json(build_report(answers, longer))
    # The longer window also takes the step that ends at the day's first sample.
    assert (day["window"]["observedSeconds"], three_days["window"]["observedSeconds"]) == (86400, 86400 + 600)
    assert [w["monthlyCostUsd"] for w in three_days["workloads"]] == pytest.approx(
        [w["monthlyCostUsd"] for w in day["workloads"]], rel=0.01)
    assert [p["monthlyCostUsd"] for p in three_days["pools"]] == pytest.approx(
        [p["monthlyCostUsd"] for p in day["pools"]], rel=0.01)
