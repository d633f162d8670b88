from __future__ import annotations

from datetime import datetime, timezone

from gpu_node_agent.cluster import cluster_rows, render_cluster

P = "node-agent.gpu-node-pools.io/"
NOW = datetime(2026, 11, 23, 9, 0, 0, tzinfo=timezone.utc)


def k8s_node(name: str, labels: dict[str, str], gpus: str | None = None, taints: list | None = None) -> dict:
    return {
        "metadata": {"name": name, "labels": labels},
        "spec": {"taints": taints or []},
        "status": {"allocatable": {"cpu": "8", **({"nvidia.com/gpu": gpus} if gpus else {})}},
    }


def lease(node: str, renew: str, duration: int = 45) -> dict:
    return {
        "metadata": {"name": node},
        "spec": {"holderIdentity": node, "renewTime": renew, "leaseDurationSeconds": duration},
    }


NODES = [
    k8s_node(
        "gpu-b",
        {
            "gpu-node-pools.io/pool": "training",
            f"{P}gpu.product": "NVIDIA-H100-80GB-HBM3",
            f"{P}gpu.memory": "81559",
            f"{P}gpu.memory-used": "75-100",
            f"{P}gpu.utilization": "80-100",
            f"{P}gpu.health": "ok",
        },
        "8",
        [{"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}],
    ),
    k8s_node("gpu-a", {"nvidia.com/gpu.present": "true", "nvidia.com/gpu.product": "Tesla-T4"}, "1"),
    k8s_node("general", {"gpu-node-pools.io/pool": "general"}),
]


def test_rows_cover_gpu_nodes_only_with_heartbeat_age() -> None:
    rows = cluster_rows(NODES, [lease("gpu-b", "2026-11-23T08:59:48.000000Z")], P, NOW)
    assert [r.node for r in rows] == ["gpu-a", "gpu-b"]
    a, b = rows
    assert (a.product, a.gpus, a.last_report_seconds, a.stale) == ("Tesla-T4", "1", None, True)  # GFD label fallback
    assert (b.pool, b.taints, b.memory_used, b.utilization, b.health) == (
        "training",
        ("nvidia.com/gpu=true:NoSchedule",),
        "75-100",
        "80-100",
        "ok",
    )
    assert b.last_report_seconds == 12 and not b.stale


def test_a_lease_older_than_its_duration_is_stale() -> None:
    (row,) = [r for r in cluster_rows(NODES, [lease("gpu-b", "2026-11-23T08:55:00Z")], P, NOW) if r.node == "gpu-b"]
    assert row.stale and row.last_report_seconds == 300


def test_table() -> None:
    table = render_cluster(cluster_rows(NODES, [lease("gpu-b", "2026-11-23T08:59:48Z")], P, NOW))
    header, a, b = table.splitlines()
    assert header.split() == [
        "NODE",
        "POOL",
        "TAINTS",
        "GPUS",
        "PRODUCT",
        "MEMORY",
        "MEM-USED",
        "UTIL",
        "HEALTH",
        "LAST-REPORT",
    ]
    assert a.endswith("never") and "81559Mi" in b and b.endswith("12s ago")
    assert render_cluster([]) == "no GPU nodes found"


def test_a_degraded_node_shows_why() -> None:
    labels = {f"{P}gpu.product": "NVIDIA-H100-80GB-HBM3", f"{P}gpu.health": "degraded"}
    node = k8s_node("gpu-c", {**labels, f"{P}gpu.health-reason": "xid-critical"}, "8")
    (row,) = cluster_rows([node], [], P, NOW)
    assert (row.health, row.health_reason) == ("degraded", "xid-critical")
    assert "degraded (xid-critical)" in render_cluster([row])
