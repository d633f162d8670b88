"""The report's parts on small tables: owners from names and from kube-state-metrics, each recommendation rule at
its edges, MIG slices, and durations."""

from __future__ import annotations

import pytest
from gpu_node_pools.prometheus_api import parse_duration
from gpu_node_pools.rightsize import Owner, Usage, Window, build_report, owner_from_name, recommend
from gpu_node_pools.rightsize.gpus import gpu_model
from gpu_node_pools.rightsize.owners import OwnerIndex
from gpu_node_pools.rightsize.series import Series

GIB = 1024**3


@pytest.mark.parametrize(("pod", "kind", "name"), [
    ("api-7d9f8b6c5d-x2k4p", "Deployment", "api"),
    ("my-api-v2-5c8d4b7f9-h2mzq", "Deployment", "my-api-v2"),
    ("train-8xk2q", "Job", "train"),
    ("nightly-29416320-q8v2c", "CronJob", "nightly"),
    ("postgres-0", "StatefulSet", "postgres"),
    ("web-12", "StatefulSet", "web"),
    ("debug", "Pod", "debug"),
    ("finetune-aeiou", "Pod", "finetune-aeiou"),  # vowels: no controller made that suffix
])
def test_owner_from_the_pod_name(pod: str, kind: str, name: str) -> None:
    assert owner_from_name("ns", pod) == Owner("ns", kind, name, "pod name")


def _series(**labels: str) -> Series:
    return Series(labels, ((0.0, 1.0),))


def test_owner_from_kube_state_metrics_one_step_up() -> None:
    index = OwnerIndex(
        [_series(namespace="a", pod="p1", owner_kind="ReplicaSet", owner_name="web-5c8d4b7f9"),
         _series(namespace="a", pod="p2", owner_kind="ReplicaSet", owner_name="svc-6b7c9d8f5"),
         _series(namespace="a", pod="p3", owner_kind="Job", owner_name="etl-29416320"),
         _series(namespace="a", pod="p4", owner_kind="Job", owner_name="backfill"),
         _series(namespace="a", pod="web-0", owner_kind="<none>", owner_name="<none>"),
         _series(namespace="a", pod="p6", owner_kind="ReplicaSet", owner_name="bare-6b7c9d8f5"),
         _series(namespace="a", pod="p7", owner_kind="Job", owner_name="load-29416320")],
        [_series(namespace="a", replicaset="web-5c8d4b7f9", owner_kind="Deployment", owner_name="web"),
         _series(namespace="a", replicaset="bare-6b7c9d8f5", owner_kind="<none>", owner_name="<none>")],
        [_series(namespace="a", job_name="backfill", owner_kind="<none>", owner_name="<none>"),
         _series(namespace="a", job_name="load-29416320", owner_kind="<none>", owner_name="<none>")],
    )
    assert index.owner("a", "p1") == Owner("a", "Deployment", "web")
    # No kube_replicaset_owner / kube_job_owner series: the name says who made it.
    assert index.owner("a", "p2") == Owner("a", "Deployment", "svc")
    assert index.owner("a", "p3") == Owner("a", "CronJob", "etl")
    assert index.owner("a", "p4") == Owner("a", "Job", "backfill")
    # kube-state-metrics says these have no owner: the name's look does not overrule it.
    assert index.owner("a", "web-0") == Owner("a", "Pod", "web-0")
    assert index.owner("a", "p6") == Owner("a", "ReplicaSet", "bare-6b7c9d8f5")
    assert index.owner("a", "p7") == Owner("a", "Job", "load-29416320")
    assert index.owner("a", "other-0") == Owner("a", "StatefulSet", "other", "pod name")


def usage(model: str = "NVIDIA A10G", p95: float = 0.2, idle: float = 0.0, peak_gib: float = 4.0,
          mig: str = "") -> Usage:
    m = gpu_model(model)
    return Usage(model=m, memory_total_bytes=(m.memory_mib * 1024**2 if m else 16 * GIB), utilization_mean=p95 / 2,
                 utilization_p95=p95, idle_share=idle, memory_peak_bytes=peak_gib * GIB, mig_profile=mig)


@pytest.mark.parametrize(("case", "action", "target"), [
    (usage(idle=0.9), "release", ""),
    (usage(idle=0.89, p95=0.2), "share", "time-slicing x4"),
    # The most replicas whose memory and time both fit: 22.5 GiB / 8 = 2.8 GiB >= 2.3 * 1.2.
    (usage(p95=0.1, peak_gib=2.3), "share", "time-slicing x8"),
    (usage(p95=0.34, peak_gib=2.0), "share", "time-slicing x2"),
    # Memory decides: 9 GiB * 1.2 fits only half an A10G; 10 GiB * 1.2 not even that (a T4 holds it).
    (usage(p95=0.05, peak_gib=9.0), "share", "time-slicing x2"),
    (usage(p95=0.05, peak_gib=10.0), "smaller-gpu", "Tesla T4 (g4dn.xlarge)"),
    # Too busy to share, small enough for a cheaper GPU: an L4 (the T4 is cheaper still but 15 GiB is too small).
    (usage(p95=0.55, peak_gib=15.0), "smaller-gpu", "NVIDIA L4 (g6.xlarge)"),
    (usage(p95=0.55, peak_gib=10.0), "smaller-gpu", "Tesla T4 (g4dn.xlarge)"),
    (usage(p95=0.61, peak_gib=10.0), "keep", ""),
    (usage(p95=0.55, peak_gib=19.0), "keep", ""),
    # MIG on an H100: the smallest profile that fits memory and p95; the whole-GPU profile is never a share.
    (usage("NVIDIA H100 80GB HBM3", p95=0.1, peak_gib=8.0), "share", "mig 1g.10gb"),
    (usage("NVIDIA H100 80GB HBM3", p95=0.5, peak_gib=8.0), "share", "mig 4g.40gb"),
    (usage("NVIDIA H100 80GB HBM3", p95=0.2, peak_gib=30.0), "share", "mig 3g.40gb"),
    # No MIG profile holds 40 GiB * 1.2 below the whole GPU; time-slicing x1 is no share; no cheaper GPU has 48 GiB.
    (usage("NVIDIA H100 80GB HBM3", p95=0.2, peak_gib=40.0), "keep", ""),
    (usage("NVIDIA A100-SXM4-40GB", p95=0.1, peak_gib=3.0), "share", "mig 1g.5gb"),
    # An arm64 T4G is never offered to an x86 workload, nor an x86 GPU to a T4G one.
    (usage("NVIDIA T4G", p95=0.7, peak_gib=3.0), "keep", ""),
    (usage(mig="1g.10gb"), "keep", ""),
    (usage("NVIDIA Future GPU", p95=0.1), "keep", ""),
])
def test_recommendation_rules(case: Usage, action: str, target: str) -> None:
    advice = recommend(case)
    assert (advice.action, advice.target) == (action, target), advice.reason


def test_workloads_on_mig_slices_are_counted_by_their_share() -> None:
    """The agent's MIG series carry memory per MIG device and the holder's pod; NVML has no utilization per slice."""
    gpu = {"UUID": "GPU-1", "modelName": "NVIDIA H100 80GB HBM3", "node": "n1"}
    times = [[1000.0 + 60 * i, "0.3"] for i in range(1, 61)]
    answers = {
        "utilization": {"resultType": "matrix", "result": [{"metric": gpu, "values": times}]},
        "memory": {"resultType": "matrix", "result": [
            {"metric": {**gpu, "GPU_I_PROFILE": "3g.40gb", "GPU_I_ID": "1", "pod": "infer-0", "namespace": "ai"},
             "values": [[t, str(12 * GIB)] for t, _ in times]},
            {"metric": {**gpu, "GPU_I_PROFILE": "3g.40gb", "GPU_I_ID": "2", "pod": "infer-1", "namespace": "ai"},
             "values": [[t, str(14 * GIB)] for t, _ in times]},
        ]},
    }
    report = build_report(answers, Window(end=4600.0, seconds=3600, step=60))
    (workload,) = report.workloads
    assert (workload.owner, workload.gpus_held, workload.gpu_hours) == (Owner("ai", "StatefulSet", "infer", "pod name"),
                                                                      1.0, 1.0)
    assert workload.utilization_p95 is None and workload.memory_peak_bytes == 14 * GIB
    assert (workload.recommendation.action, workload.recommendation.reason) == ("keep", "already on MIG slice 3g.40gb")
    (pool,) = report.pools
    assert (pool.gpu_hours, pool.allocated_gpu_hours) == (1.0, 1.0)


@pytest.mark.parametrize(("text", "seconds"), [("7d", 604800), ("1h30m", 5400), ("90s", 90), ("2w", 1209600)])
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text, "--window") == seconds


@pytest.mark.parametrize("text", ["7", "7days", "-1d", "1d 2h", "0s", ""])
def test_bad_durations_name_the_flag(text: str) -> None:
    with pytest.raises(ValueError, match=f"--window {text!r}"):
        parse_duration(text, "--window")


def test_a_gpu_without_utilization_reads_is_held_but_not_judged() -> None:
    """NVML answers NotSupported for utilization on some GPUs: the agent then exports memory only."""
    labels = {"UUID": "GPU-1", "modelName": "NVIDIA L4", "node": "n1", "pod": "svc-5c8d4b7f9-h2mzq", "namespace": "a"}
    answers = {
        "utilization": {"resultType": "matrix", "result": [
            {"metric": {"UUID": "GPU-2", "modelName": "NVIDIA L4", "node": "n1"}, "values": [[1060.0, "0"]]}]},
        "memory": {"resultType": "matrix", "result": [
            {"metric": labels, "values": [[1000.0 + 60 * i, str(3 * GIB)] for i in range(1, 61)]}]},
    }
    (workload,) = build_report(answers, Window(end=4600.0, seconds=3600, step=60)).workloads
    assert (workload.gpu_hours, workload.gpus_held, workload.utilization_p95) == (1.0, 1.0, None)
    assert (workload.recommendation.action, workload.recommendation.reason) == ("keep", "no utilization series")
