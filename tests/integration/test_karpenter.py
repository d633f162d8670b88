"""Elastic GPU pools on the real control plane with the real Karpenter (its kwok provider, scripts/cluster.sh):
they scale from zero on demand, only for pods that tolerate the GPU taint, never past their cap, give
nodes back after consolidateAfter, and roll onto a new capacity type by drift.

Each test declares its own NodePool with the project's builder (a short consolidateAfter: tests only) and pins its
pods to it by the pool label, so the local stack's own pools neither help nor interfere.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kubernetes import client

from gnp_cluster import AppliedLayer, LocalCluster, wait_for
from gnp_workloads import GPU, affinity_admits, deployment, pod
from gpu_node_pools.config.platform import parse_platform_config
from gpu_node_pools.manifests.karpenter import KWOK_NODE_CLASS_REF, node_pool

pytestmark = pytest.mark.cluster

POOL_LABEL = "gpu-node-pools.io/pool"
NODEPOOL_LABEL = "karpenter.sh/nodepool"
CAPACITY_TYPE = "karpenter.sh/capacity-type"
CONSOLIDATE_AFTER_S = 5
GPU_POD = {GPU: "1", "cpu": "100m", "memory": "64Mi"}

MakePool = Callable[..., dict[str, Any]]


def nodes_of(cluster: LocalCluster, pool: str) -> list[client.V1Node]:
    return cluster.nodes(f"{NODEPOOL_LABEL}={pool}")


def nodeclaims_of(cluster: LocalCluster, pool: str) -> list[dict[str, Any]]:
    api = client.CustomObjectsApi(cluster.api())
    claims = api.list_cluster_custom_object("karpenter.sh", "v1", "nodeclaims", label_selector=f"{NODEPOOL_LABEL}={pool}")
    return list(claims["items"])


def karpenter_events(cluster: LocalCluster, namespace: str, pod_name: str) -> list[str]:
    events = cluster.core().list_namespaced_event(namespace, field_selector=f"involvedObject.name={pod_name}").items
    return [e.message or "" for e in events if (e.source and e.source.component == "karpenter")
            or (e.reporting_component or "").startswith("karpenter")]


@pytest.fixture
def elastic_pool(local_cluster: LocalCluster) -> Iterator[MakePool]:
    """Applies an elastic pool's NodePool (from the project's config model and builder); deletes it afterwards and
    waits until Karpenter has given its nodes back. Tests request it before `namespace`, so their pods are gone
    before their pool is."""
    names: list[str] = []
    custom = client.CustomObjectsApi(local_cluster.api())

    def make(**elastic: Any) -> dict[str, Any]:
        name = f"t-{uuid.uuid4().hex[:6]}"
        values = {"limits": {"gpus": 4}, "instanceFamilies": ["g5", "g6"], "capacityTypes": ["spot", "on-demand"],
                  "disruption": {"consolidateAfter": f"{CONSOLIDATE_AFTER_S}s"}, **elastic}
        config = parse_platform_config({
            "cluster": {"mode": "existing", "kubeconfig": "k"},
            "nodePools": [{"name": name, "kind": "gpu", "elastic": values}],
            "nodeAgent": {"image": "gpu-node-agent:local"},
        }, "test")
        obj = node_pool(config.node_pools[0], config.contract, KWOK_NODE_CLASS_REF)
        local_cluster.apply([obj])
        names.append(name)
        return obj

    yield make
    for name in names:
        custom.delete_cluster_custom_object("karpenter.sh", "v1", "nodepools", name)
    for name in names:
        wait_for(lambda: not nodes_of(local_cluster, name) and not nodeclaims_of(local_cluster, name), 120,
                 f"NodePool {name}'s nodes given back")


def pinned(pool: dict[str, Any]) -> dict[str, str]:
    return {POOL_LABEL: pool["metadata"]["name"]}


def gpu_tolerations(pool: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"key": t["key"], "operator": "Exists", "effect": t["effect"]} for t in pool["spec"]["template"]["spec"]["taints"]]


def test_a_gpu_pod_brings_a_tainted_gpu_node_with_the_gpu_daemons_and_it_goes_back_when_idle(
    local_cluster: LocalCluster, local_layer: AppliedLayer, elastic_pool: MakePool, namespace: str
) -> None:
    pool = elastic_pool()
    name = pool["metadata"]["name"]
    core = local_cluster.core()
    assert not nodes_of(local_cluster, name), "an elastic pool starts with no node"

    core.create_namespaced_pod(namespace, pod("train", requests=GPU_POD, tolerations=gpu_tolerations(pool),
                                              node_selector=pinned(pool)))
    wait_for(lambda: nodeclaims_of(local_cluster, name), 60, "a NodeClaim for the pending GPU pod")
    running = wait_for(lambda: (p := core.read_namespaced_pod("train", namespace)).status.phase == "Running" and p,
                       90, "the GPU pod Running")
    [node] = nodes_of(local_cluster, name)
    # Karpenter writes the claim's node into its status in a later update than the one that registers the node.
    [claim] = wait_for(lambda: [c for c in nodeclaims_of(local_cluster, name) if c.get("status", {}).get("nodeName")],
                       30, "the NodeClaim naming its node")
    assert running.spec.node_name == node.metadata.name == claim["status"]["nodeName"]
    labels = node.metadata.labels
    # The contract's fence and labels, on a GPU type the pool allows, from the same AWS label keys as on EKS.
    assert {(t.key, t.value, t.effect) for t in node.spec.taints} == {
        (t["key"], t["value"], t["effect"]) for t in pool["spec"]["template"]["spec"]["taints"]}
    assert labels["nvidia.com/gpu.present"] == "true" and labels[POOL_LABEL] == name
    assert labels["karpenter.k8s.aws/instance-gpu-manufacturer"] == "nvidia"
    assert labels["karpenter.k8s.aws/instance-family"] in ("g5", "g6")
    assert labels[CAPACITY_TYPE] == "spot", "with both allowed, Karpenter takes the cheaper spot offering"
    assert int(node.status.allocatable[GPU]) >= 1

    # The device plugin and the node agent land on the new node, as on a managed GPU node (of the device plugin's
    # DaemonSets, the one for whole-GPU nodes: the others serve shared pools' nodes).
    for ds in [d for d in local_layer.of_kind("DaemonSet") if affinity_admits(d, labels)]:
        selector = ",".join(f"{k}={v}" for k, v in ds["spec"]["selector"]["matchLabels"].items())
        wait_for(lambda: any(p.spec.node_name == node.metadata.name and p.status.phase == "Running"
                             for p in local_cluster.pods(ds["metadata"]["namespace"], selector)),
                 90, f"DaemonSet {ds['metadata']['name']} Running on {node.metadata.name}")

    # The work goes; the node follows after consolidateAfter, not before.
    core.delete_namespaced_pod("train", namespace, grace_period_seconds=0)
    deleted_at = time.monotonic()
    wait_for(lambda: not nodes_of(local_cluster, name), 120, "the empty node given back")
    assert time.monotonic() - deleted_at >= CONSOLIDATE_AFTER_S


def test_a_cpu_pod_that_does_not_tolerate_the_gpu_taint_never_causes_a_gpu_node(
    local_cluster: LocalCluster, elastic_pool: MakePool, namespace: str
) -> None:
    pool = elastic_pool(instanceFamilies=["g5"])
    name = pool["metadata"]["name"]
    core = local_cluster.core()
    # 40 vCPUs: no general node has them, a g5.12xlarge (48) would. Only the taint keeps it off GPU capacity.
    core.create_namespaced_pod(namespace, pod("cpu-hungry", requests={"cpu": "40", "memory": "1Gi"}))
    messages = wait_for(lambda: [m for m in karpenter_events(local_cluster, namespace, "cpu-hungry")
                                 if "did not tolerate" in m], 60, "Karpenter's reason for not launching a node")
    assert name in " ".join(messages) or "taint" in " ".join(messages)
    time.sleep(CONSOLIDATE_AFTER_S)
    assert not nodeclaims_of(local_cluster, name) and not nodes_of(local_cluster, name)
    assert core.read_namespaced_pod("cpu-hungry", namespace).spec.node_name is None


def test_the_gpu_cap_holds_and_the_rest_stay_pending_with_karpenters_reason(
    local_cluster: LocalCluster, elastic_pool: MakePool, namespace: str
) -> None:
    pool = elastic_pool(instanceFamilies=["g6"], limits={"gpus": 2})
    name = pool["metadata"]["name"]
    replicas = 4
    client.AppsV1Api(local_cluster.api()).create_namespaced_deployment(namespace, deployment(
        "serve", replicas, requests=GPU_POD, tolerations=gpu_tolerations(pool), node_selector=pinned(pool)))

    def settled() -> tuple[list[client.V1Pod], list[client.V1Pod]] | None:
        pods = [p for p in local_cluster.pods(namespace, "app=serve") if p.metadata.deletion_timestamp is None]
        running = [p for p in pods if p.status.phase == "Running"]
        return (running, [p for p in pods if not p.spec.node_name]) if len(running) == 2 else None

    running, pending = wait_for(settled, 120, "two GPU pods running under the 2-GPU cap")
    assert sum(int(n.status.allocatable[GPU]) for n in nodes_of(local_cluster, name)) == 2
    assert len(pending) == replicas - 2
    for p in pending:
        wait_for(lambda: [m for m in karpenter_events(local_cluster, namespace, p.metadata.name)
                          if "exceed limits" in m], 60, f"Karpenter's cap reason on {p.metadata.name}")
    time.sleep(CONSOLIDATE_AFTER_S)
    assert sum(int(n.status.allocatable[GPU]) for n in nodes_of(local_cluster, name)) == 2, "the cap held"


def test_switching_the_pool_from_spot_to_on_demand_replaces_its_node_by_drift(
    local_cluster: LocalCluster, elastic_pool: MakePool, namespace: str
) -> None:
    pool = elastic_pool(instanceFamilies=["g6"], capacityTypes=["spot"])
    name = pool["metadata"]["name"]
    client.AppsV1Api(local_cluster.api()).create_namespaced_deployment(namespace, deployment(
        "serve", 1, requests=GPU_POD, tolerations=gpu_tolerations(pool), node_selector=pinned(pool)))
    [spot] = wait_for(lambda: [n for n in nodes_of(local_cluster, name) if n.metadata.labels[CAPACITY_TYPE] == "spot"],
                      90, "a spot node")

    elastic_pool_on_demand = dict(pool)
    for requirement in elastic_pool_on_demand["spec"]["template"]["spec"]["requirements"]:
        if requirement["key"] == CAPACITY_TYPE:
            requirement["values"] = ["on-demand"]
    local_cluster.apply([elastic_pool_on_demand])

    def replaced() -> client.V1Node | None:
        nodes = nodes_of(local_cluster, name)
        on_demand = [n for n in nodes if n.metadata.labels[CAPACITY_TYPE] == "on-demand"]
        gone = spot.metadata.name not in {n.metadata.name for n in nodes}
        return on_demand[0] if on_demand and gone else None

    node = wait_for(replaced, 120, "the spot node replaced by an on-demand one (drift)")
    wait_for(lambda: [p for p in local_cluster.pods(namespace, "app=serve")
                      if p.spec.node_name == node.metadata.name and p.status.phase == "Running"],
             90, "the workload Running on the on-demand node")
