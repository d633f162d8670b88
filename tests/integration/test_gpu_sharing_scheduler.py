"""GPU sharing on the real scheduler and the real Karpenter: shared pools' nodes advertise what NVIDIA's device
plugin would (from the same sharing config), small pods pack onto one GPU, a pod asking for more than a slice or for
a whole GPU stays Pending with the scheduler's reason, pods that don't tolerate the GPU taint stay off, and an
elastic shared pool (time-sliced, or MIG single) launches nodes for shares, not for GPUs.

The managed pools here are the test's own simulated nodes, built by the project's builder from a pool config; the
elastic ones are the local stack's `gpu-shared` and `gpu-mig` pools, whose shared instance types the local Karpenter
was started with (`kwok-instance-types --stack local`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kubernetes import client

from gnp_cluster import ROOT, AppliedLayer, LocalCluster, wait_for
from gnp_workloads import GPU, affinity_admits, deployment, pending_message, pod
from gpu_node_pools.config.platform import PlatformConfig, parse_platform_config
from gpu_node_pools.config.stack_files import load_stack
from gpu_node_pools.manifests.simulated_nodes import simulated_nodes

pytestmark = pytest.mark.cluster

POOL_LABEL = "gpu-node-pools.io/pool"
NODEPOOL_LABEL = "karpenter.sh/nodepool"
CONFIG_LABEL = "nvidia.com/device-plugin.config"
SMALL = {"cpu": "100m", "memory": "64Mi"}
GENERAL = {"name": "general", "kind": "general", "instanceTypes": ["m6i.large"], "scaling": {"min": 1, "max": 2}}

MakeNode = Callable[..., client.V1Node]


def stack_with(pool: dict[str, Any]) -> PlatformConfig:
    return parse_platform_config({"cluster": {"mode": "existing", "kubeconfig": "k"}, "nodePools": [GENERAL, pool],
                                  "nodeAgent": {"enabled": False}}, "test")


@pytest.fixture
def shared_node(local_cluster: LocalCluster) -> Iterator[MakeNode]:
    """One simulated node of a managed shared pool (the project's simulated-node builder, as `make up` uses);
    deleted afterwards. Tests request it before `namespace`, so their pods are gone before their node is."""
    created: list[str] = []

    def make(instance_type: str, **sharing: Any) -> client.V1Node:
        name = f"t-{uuid.uuid4().hex[:6]}"
        config = stack_with({"name": name, "kind": "gpu", "instanceTypes": [instance_type],
                             "scaling": {"min": 1, "max": 1}, "sharing": sharing})
        [node] = simulated_nodes(config.managed_pools[1:], config.contract)
        local_cluster.apply([node])
        created.append(node["metadata"]["name"])
        return wait_for(lambda: next((n for n in local_cluster.nodes(f"{POOL_LABEL}={name}") if _ready(n)), None),
                        60, f"simulated node of pool {name} Ready")

    yield make
    for name in created:
        local_cluster.core().delete_node(name)
    wait_for(lambda: not {n.metadata.name for n in local_cluster.nodes()} & set(created), 60, "the test's nodes gone")


def _ready(node: client.V1Node) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in node.status.conditions or [])


def tolerations(node: client.V1Node) -> list[dict[str, Any]]:
    return [{"key": t.key, "operator": "Exists", "effect": t.effect} for t in node.spec.taints or []]


def pinned(node: client.V1Node) -> dict[str, str]:
    return {POOL_LABEL: node.metadata.labels[POOL_LABEL]}


def pods_of(cluster: LocalCluster, namespace: str, app: str) -> list[client.V1Pod]:
    return [p for p in cluster.pods(namespace, f"app={app}") if p.metadata.deletion_timestamp is None]


def running(cluster: LocalCluster, namespace: str, app: str, count: int) -> list[client.V1Pod] | None:
    pods = [p for p in pods_of(cluster, namespace, app) if p.status.phase == "Running"]
    return pods if len(pods) == count else None


def reason(cluster: LocalCluster, namespace: str, name: str, text: str) -> str:
    return wait_for(lambda: (m := pending_message(cluster.core().read_namespaced_pod(name, namespace))) and text in m
                    and m, 60, f"the scheduler's reason for {name}: {text!r}")


def test_time_sliced_gpu_packs_small_pods_and_the_rest_wait_with_the_schedulers_reason(
    local_cluster: LocalCluster, shared_node: MakeNode, namespace: str
) -> None:
    node = shared_node("g6.xlarge", timeSlicing={"replicas": 4})
    assert node.status.allocatable[GPU] == "4", "one L4 advertised as 4 time-slices, as the device plugin would"
    assert node.metadata.labels[CONFIG_LABEL] == node.metadata.labels[POOL_LABEL]
    apps = client.AppsV1Api(local_cluster.api())
    apps.create_namespaced_deployment(namespace, deployment(
        "infer", 4, requests={GPU: "1", **SMALL}, tolerations=tolerations(node), node_selector=pinned(node)))
    pods = wait_for(lambda: running(local_cluster, namespace, "infer", 4), 90, "4 inference pods Running")
    assert {p.spec.node_name for p in pods} == {node.metadata.name}, "all four on the one shared GPU"

    core = local_cluster.core()
    core.create_namespaced_pod(namespace, pod("fifth", requests={GPU: "1", **SMALL}, tolerations=tolerations(node),
                                              node_selector=pinned(node)))
    assert "Insufficient nvidia.com/gpu" in reason(local_cluster, namespace, "fifth", "Insufficient nvidia.com/gpu")
    # The fence still holds on a shared pool: no toleration, no GPU node.
    core.create_namespaced_pod(namespace, pod("untolerating", requests=SMALL, node_selector=pinned(node)))
    reason(local_cluster, namespace, "untolerating", "untolerated taint")


def test_mixed_mig_node_takes_slices_of_its_profile_only(
    local_cluster: LocalCluster, shared_node: MakeNode, namespace: str
) -> None:
    node = shared_node("p5.48xlarge", mig={"strategy": "mixed", "layout": "all-1g.10gb"})
    allocatable = node.status.allocatable
    assert allocatable["nvidia.com/mig-1g.10gb"] == "56", "8 H100s x 7 1g.10gb devices"
    assert GPU not in allocatable, "under mixed, MIG GPUs are not offered whole"
    assert node.metadata.labels["nvidia.com/mig.strategy"] == "mixed"
    client.AppsV1Api(local_cluster.api()).create_namespaced_deployment(namespace, deployment(
        "infer", 8, requests={"nvidia.com/mig-1g.10gb": "1", **SMALL}, tolerations=tolerations(node),
        node_selector=pinned(node)))
    pods = wait_for(lambda: running(local_cluster, namespace, "infer", 8), 90, "8 pods on 1g.10gb slices")
    assert {p.spec.node_name for p in pods} == {node.metadata.name}

    core = local_cluster.core()
    for name, resource in (("bigger-slice", "nvidia.com/mig-3g.40gb"), ("whole-gpu", GPU)):
        core.create_namespaced_pod(namespace, pod(name, requests={resource: "1", **SMALL},
                                                  tolerations=tolerations(node), node_selector=pinned(node)))
        reason(local_cluster, namespace, name, f"Insufficient {resource}")


def test_elastic_shared_pool_launches_nodes_for_shares_not_gpus(
    local_cluster: LocalCluster, local_layer: AppliedLayer, namespace: str
) -> None:
    stack = load_stack("local", ROOT)
    [pool] = [p for p in stack.elastic_pools if p.sharing is not None and p.sharing.time_slicing is not None]
    assert pool.elastic is not None and pool.sharing is not None and pool.sharing.time_slicing is not None
    replicas, cap = pool.sharing.time_slicing.replicas, pool.elastic.limits.gpus
    contract = stack.contract
    tolerate = [{"key": t.key, "operator": "Exists", "effect": t.effect} for t in pool.node_taints(contract)]
    wanted = replicas + 1  # one more than a GPU's shares: two nodes, not five
    apps = client.AppsV1Api(local_cluster.api())
    apps.create_namespaced_deployment(namespace, deployment(
        "infer", wanted, requests={GPU: "1", **SMALL}, tolerations=tolerate, node_selector={POOL_LABEL: pool.name}))
    try:
        _launches_by_shares(local_cluster, local_layer, namespace, pool.name, wanted, replicas, cap)
    finally:
        # The pool's nodes go back (after its consolidateAfter) before the next test counts the cluster's nodes.
        apps.delete_namespaced_deployment("infer", namespace)
        wait_for(lambda: not local_cluster.nodes(f"{NODEPOOL_LABEL}={pool.name}"), 120,
                 f"{pool.name}'s nodes given back")


def _launches_by_shares(local_cluster: LocalCluster, local_layer: AppliedLayer, namespace: str, pool: str,
                        wanted: int, replicas: int, cap: int) -> None:
    pods = wait_for(lambda: running(local_cluster, namespace, "infer", wanted), 180,
                    f"{wanted} pods Running on the shared elastic pool")
    nodes = local_cluster.nodes(f"{NODEPOOL_LABEL}={pool}")
    assert len(nodes) == 2 <= cap, [n.metadata.name for n in nodes]
    assert {p.spec.node_name for p in pods} == {n.metadata.name for n in nodes}
    for node in nodes:
        labels = node.metadata.labels
        assert labels[CONFIG_LABEL] == pool and labels["gpu-node-pools.io/gpu-sharing"] == "time-slicing"
        gpus = int(labels["karpenter.k8s.aws/instance-gpu-count"])
        assert int(node.status.allocatable[GPU]) == gpus * replicas, "the node advertises shares"
    # The pool's named device plugin DaemonSet serves its nodes; the default one keeps off them.
    plugins = [d for d in local_layer.of_kind("DaemonSet") if d["metadata"]["namespace"] == "nvidia-device-plugin"]
    serving = [d["metadata"]["name"] for d in plugins if affinity_admits(d, nodes[0].metadata.labels)]
    assert serving == [f"nvidia-device-plugin-{pool}"]
    ds = next(d for d in plugins if d["metadata"]["name"] == serving[0])
    selector = ",".join(f"{k}={v}" for k, v in ds["spec"]["selector"]["matchLabels"].items())
    wait_for(lambda: {p.spec.node_name for p in local_cluster.pods("nvidia-device-plugin", selector)
                      if p.status.phase == "Running"} >= {n.metadata.name for n in nodes},
             90, f"{serving[0]} Running on the pool's nodes")


def test_elastic_mig_single_pool_launches_one_node_for_more_pods_than_its_gpus(
    local_cluster: LocalCluster, local_layer: AppliedLayer, namespace: str
) -> None:
    """The local stack's `gpu-mig` pool (MIG single, all-1g.10gb on p5): Karpenter plans with the MIG devices its
    instance-type copies advertise as nvidia.com/gpu, so 9 pods (more than a p5's 8 GPUs) take one node, not two."""
    stack = load_stack("local", ROOT)
    [pool] = [p for p in stack.elastic_pools if p.sharing is not None and p.sharing.mig is not None]
    assert pool.sharing is not None and pool.sharing.mig is not None and pool.sharing.mig.strategy == "single"
    [node_pool] = [o for o in local_layer.of_kind("NodePool") if o["metadata"]["name"] == pool.name]
    tolerate = [{"key": t.key, "operator": "Exists", "effect": t.effect} for t in pool.node_taints(stack.contract)]
    wanted = 9
    apps = client.AppsV1Api(local_cluster.api())
    apps.create_namespaced_deployment(namespace, deployment(
        "infer", wanted, requests={GPU: "1", **SMALL}, tolerations=tolerate, node_selector={POOL_LABEL: pool.name}))
    try:
        pods = wait_for(lambda: running(local_cluster, namespace, "infer", wanted), 180,
                        f"{wanted} pods Running on the MIG elastic pool")
        nodes = local_cluster.nodes(f"{NODEPOOL_LABEL}={pool.name}")
        assert len(nodes) == 1, [n.metadata.name for n in nodes]
        [node] = nodes
        assert {p.spec.node_name for p in pods} == {node.metadata.name}
        labels = node.metadata.labels
        assert labels["gpu-node-pools.io/gpu-sharing"] == "mig" and labels["nvidia.com/mig.strategy"] == "single"
        assert labels[CONFIG_LABEL] == pool.name
        gpus = int(labels["karpenter.k8s.aws/instance-gpu-count"])
        assert node.status.allocatable[GPU] == str(gpus * 7), "7 1g.10gb devices per H100, as nvidia.com/gpu"
        assert node_pool["spec"]["limits"] == {GPU: str(8 * 7)}, "the cap, 8 GPUs, in the devices counted here"
        plugins = [d for d in local_layer.of_kind("DaemonSet") if d["metadata"]["namespace"] == "nvidia-device-plugin"]
        assert [d["metadata"]["name"] for d in plugins if affinity_admits(d, labels)] == [
            f"nvidia-device-plugin-{pool.name}"]
    finally:
        apps.delete_namespaced_deployment("infer", namespace)
        wait_for(lambda: not local_cluster.nodes(f"{NODEPOOL_LABEL}={pool.name}"), 120,
                 f"{pool.name}'s nodes given back")
