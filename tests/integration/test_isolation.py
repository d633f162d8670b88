"""Proofs 1-4 (docs/local-cluster.md, Tests) on the real scheduler: GPU nodes take only what tolerates them, and
priorities hold."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client

from gnp_workloads import GPU, GPU_PRESENT, affinity_admits, deployment, gpu_tolerations, pending_message, pod
from gnp_cluster import AppliedLayer, LocalCluster, wait_for

pytestmark = pytest.mark.cluster


# These proofs are about the managed GPU pool's fixed nodes. The local stack also has an elastic pool, whose nodes
# Karpenter launches for pending GPU pods (tests/integration/test_karpenter.py proves that): GPU pods here are
# pinned to the managed pool, so a pod meant to stay Pending stays Pending.
POOL_LABEL = "gpu-node-pools.io/pool"


@pytest.fixture(scope="module")
def gpu_nodes(local_cluster: LocalCluster) -> list[client.V1Node]:
    nodes = local_cluster.nodes(f"{GPU_PRESENT}=true,!karpenter.sh/nodepool")
    assert nodes, "the local stack has no GPU nodes"
    return nodes


def managed_pool(gpu_nodes: list[client.V1Node]) -> dict[str, str]:
    """A node selector for the managed GPU pool the fixed GPU nodes belong to."""
    [pool] = {n.metadata.labels[POOL_LABEL] for n in gpu_nodes}
    return {POOL_LABEL: pool}


@pytest.fixture(scope="module")
def general_nodes(local_cluster: LocalCluster) -> list[client.V1Node]:
    nodes = local_cluster.nodes(f"!{GPU_PRESENT}")
    assert nodes, "the local stack has no general nodes"
    return nodes


def names(nodes: list[client.V1Node]) -> set[str]:
    return {n.metadata.name for n in nodes}


def gpu_count(nodes: list[client.V1Node]) -> int:
    return sum(int(n.status.allocatable.get(GPU, "0")) for n in nodes)


def cpu_millis(quantity: str) -> int:
    return int(quantity[:-1]) if quantity.endswith("m") else int(float(quantity) * 1000)


def split(pods: list[client.V1Pod]) -> tuple[list[client.V1Pod], list[client.V1Pod]]:
    """(scheduled, unschedulable) among pods that are not being deleted."""
    live = [p for p in pods if p.metadata.deletion_timestamp is None]
    return [p for p in live if p.spec.node_name], [p for p in live if pending_message(p) is not None]


def pod_template_pods(cluster: LocalCluster, obj: dict[str, Any]) -> list[client.V1Pod]:
    labels = obj["spec"]["selector"]["matchLabels"]
    selector = ",".join(f"{k}={v}" for k, v in labels.items())
    return cluster.pods(obj["metadata"]["namespace"], selector)


# Proof 1 -----------------------------------------------------------------------------------------------------------


def test_gpu_daemonsets_run_on_exactly_the_gpu_nodes(
    local_cluster: LocalCluster, local_layer: AppliedLayer, gpu_nodes: list[client.V1Node]
) -> None:
    daemonsets = local_layer.of_kind("DaemonSet")
    images = [c["image"] for d in daemonsets for c in d["spec"]["template"]["spec"]["containers"]]
    assert any("k8s-device-plugin" in image for image in images), f"no device plugin DaemonSet in {images}"
    # The device plugin's DaemonSets split the GPU nodes by their config label (one per shared pool's config, the
    # default for the rest): every GPU node runs exactly one of them.
    plugin_nodes: list[str] = []
    for ds in daemonsets:
        expected = {n.metadata.name for n in gpu_nodes if affinity_admits(ds, n.metadata.labels or {})}
        if "k8s-device-plugin" in ds["spec"]["template"]["spec"]["containers"][0]["image"]:
            plugin_nodes += sorted(expected)
        else:
            assert expected == names(gpu_nodes), ds["metadata"]["name"]

        def placed(expected: set[str] = expected, ds: dict[str, Any] = ds) -> tuple[set[str]] | None:
            pods = pod_template_pods(local_cluster, ds)
            ready = [p for p in pods if p.status.phase == "Running"]
            on = {p.spec.node_name for p in ready}
            # A tuple, so that "on no node" (a shared pool with no node yet) counts as placed too.
            return (on,) if on == expected and len(ready) == len(pods) else None

        wait_for(placed, 120, f"DaemonSet {ds['metadata']['name']} Running on exactly {sorted(expected)}")
        status = client.AppsV1Api(local_cluster.api()).read_namespaced_daemon_set_status(
            ds["metadata"]["name"], ds["metadata"]["namespace"]
        ).status
        assert status.desired_number_scheduled == len(expected), ds["metadata"]["name"]
    assert sorted(plugin_nodes) == sorted(names(gpu_nodes)), "every GPU node runs exactly one device plugin"


def test_metrics_server_runs_only_on_general_nodes(
    local_cluster: LocalCluster, local_layer: AppliedLayer, general_nodes: list[client.V1Node]
) -> None:
    deployments = [d for d in local_layer.of_kind("Deployment") if "metrics-server" in d["metadata"]["name"]]
    assert deployments, "the local layer has no metrics-server Deployment"
    for dep in deployments:
        replicas = dep["spec"].get("replicas", 1)

        def running() -> list[client.V1Pod] | None:
            pods = [p for p in pod_template_pods(local_cluster, dep) if p.status.phase == "Running"]
            return pods if len(pods) == replicas else None

        pods = wait_for(running, 120, f"{replicas} running metrics-server pods")
        assert {p.spec.node_name for p in pods} <= names(general_nodes)


def test_metrics_api_is_served_for_the_simulated_nodes(
    local_cluster: LocalCluster, local_layer: AppliedLayer, gpu_nodes: list[client.V1Node]
) -> None:
    """kubectl top works: the metrics API comes from the host metrics-server, not the stack's simulated pods.

    kwok reports a node's usage as the sum of its pods', so the GPU nodes (running the GPU DaemonSets) have some.
    """
    def measured() -> set[str] | None:
        top = local_cluster.kubectl("top", "nodes", "--no-headers", check=False)
        rows = [line.split() for line in top.stdout.splitlines()]
        with_usage = {row[0] for row in rows if top.returncode == 0 and row[1].endswith("m")}
        return with_usage if names(gpu_nodes) <= with_usage else None

    wait_for(measured, 120, "kubectl top nodes to show usage for every GPU node", interval=3)


# Proof 2 -----------------------------------------------------------------------------------------------------------


def test_plain_deployment_never_lands_on_gpu_nodes_even_when_general_nodes_are_full(
    local_cluster: LocalCluster,
    local_layer: AppliedLayer,
    namespace: str,
    gpu_nodes: list[client.V1Node],
    general_nodes: list[client.V1Node],
) -> None:
    # Each pod takes 60% of a general node's CPU: one pod per general node, the rest have nowhere legal to go.
    per_pod = min(cpu_millis(n.status.allocatable["cpu"]) for n in general_nodes) * 6 // 10
    overflow = 3
    dep = deployment("plain", len(general_nodes) + overflow, requests={"cpu": f"{per_pod}m", "memory": "64Mi"})
    client.AppsV1Api(local_cluster.api()).create_namespaced_deployment(namespace, dep)

    def settled() -> tuple[list[client.V1Pod], list[client.V1Pod]] | None:
        scheduled, pending = split(local_cluster.pods(namespace, "app=plain"))
        return (scheduled, pending) if len(pending) == overflow and len(scheduled) == len(general_nodes) else None

    scheduled, pending = wait_for(settled, 120, "general nodes full and the overflow pods Pending")
    assert {p.spec.node_name for p in scheduled} == names(general_nodes)
    for p in pending:
        message = pending_message(p)
        # Every GPU node is ruled out by its taint, every general node by its full CPU.
        assert f"{len(gpu_nodes)} node(s) had untolerated taint" in message, message
        assert f"{len(general_nodes)} Insufficient cpu" in message, message


# Proof 3 -----------------------------------------------------------------------------------------------------------


def test_gpu_job_runs_on_gpu_nodes(
    local_cluster: LocalCluster, namespace: str, gpu_nodes: list[client.V1Node]
) -> None:
    total = gpu_count(gpu_nodes)
    template = pod("train", requests={GPU: "1", "cpu": "100m", "memory": "64Mi"}, tolerations=gpu_tolerations(gpu_nodes),
                   node_selector=managed_pool(gpu_nodes))
    template["spec"]["restartPolicy"] = "Never"
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "train"},
        "spec": {"completions": total, "parallelism": total, "backoffLimit": 0,
                 "template": {"metadata": {"labels": {"app": "train"}}, "spec": template["spec"]}},
    }
    batch = client.BatchV1Api(local_cluster.api())
    batch.create_namespaced_job(namespace, job)
    wait_for(
        lambda: (batch.read_namespaced_job_status("train", namespace).status.succeeded or 0) == total,
        120,
        f"Job train to succeed {total} times",
    )
    # kwok completes Job pods as soon as they run; where they ran is what matters.
    ran_on = {p.spec.node_name for p in local_cluster.pods(namespace, "app=train")}
    assert ran_on and ran_on <= names(gpu_nodes)


def test_more_gpu_requests_than_the_pool_holds_stay_pending(
    local_cluster: LocalCluster, namespace: str, gpu_nodes: list[client.V1Node]
) -> None:
    total, overflow = gpu_count(gpu_nodes), 2
    dep = deployment(
        "serve", total + overflow, requests={GPU: "1", "cpu": "100m", "memory": "64Mi"},
        tolerations=gpu_tolerations(gpu_nodes), node_selector=managed_pool(gpu_nodes),
    )
    client.AppsV1Api(local_cluster.api()).create_namespaced_deployment(namespace, dep)

    def settled() -> tuple[list[client.V1Pod], list[client.V1Pod]] | None:
        scheduled, pending = split(local_cluster.pods(namespace, "app=serve"))
        return (scheduled, pending) if len(scheduled) == total and len(pending) == overflow else None

    scheduled, pending = wait_for(settled, 120, f"{total} GPU pods scheduled and {overflow} Pending")
    assert {p.spec.node_name for p in scheduled} <= names(gpu_nodes)
    for p in pending:
        assert f"Insufficient {GPU}" in pending_message(p), pending_message(p)


# Proof 4 -----------------------------------------------------------------------------------------------------------


def ladder(layer: AppliedLayer) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the highest preempting class, the non-preempting class) of the stack's priority classes."""
    classes = layer.of_kind("PriorityClass")
    never = [c for c in classes if c.get("preemptionPolicy") == "Never"]
    preempting = [c for c in classes if c.get("preemptionPolicy", "PreemptLowerPriority") == "PreemptLowerPriority"]
    assert never and preempting, "the local stack needs a preempting class and a non-preempting (batch) class"
    return max(preempting, key=lambda c: c["value"]), max(never, key=lambda c: c["value"])


def test_serving_preempts_lower_priority_gpu_pods_and_batch_never_does(
    local_cluster: LocalCluster, local_layer: AppliedLayer, namespace: str, gpu_nodes: list[client.V1Node]
) -> None:
    serving, batch = ladder(local_layer)
    assert not any(c.get("globalDefault") for c in local_layer.of_kind("PriorityClass")), \
        "victim pods below rely on priority 0; a global default class would change that"
    assert batch["value"] > 0, "batch must outrank the priority-0 pods it is shown not to preempt"
    core = local_cluster.core()
    tolerations = gpu_tolerations(gpu_nodes)
    gpu_pod = {GPU: "1", "cpu": "100m", "memory": "64Mi"}
    total = gpu_count(gpu_nodes)
    pinned = managed_pool(gpu_nodes)

    # Fill the GPU pool with priority-0 pods.
    client.AppsV1Api(local_cluster.api()).create_namespaced_deployment(
        namespace, deployment("filler", total, requests=gpu_pod, tolerations=tolerations, node_selector=pinned)
    )
    fillers = wait_for(
        lambda: (s := split(local_cluster.pods(namespace, "app=filler"))[0]) and len(s) == total and s,
        120, "the GPU pool full of filler pods",
    )
    filler_names = {p.metadata.name for p in fillers}

    # Batch (preemptionPolicy: Never) waits for room instead of evicting anyone.
    core.create_namespaced_pod(namespace, pod("batch", requests=gpu_pod, tolerations=tolerations,
                                              priority_class=batch["metadata"]["name"], node_selector=pinned))
    wait_for(lambda: pending_message(core.read_namespaced_pod("batch", namespace)) is not None, 60,
             "the batch pod marked unschedulable")
    batch_pod = core.read_namespaced_pod("batch", namespace)
    assert batch_pod.spec.priority == batch["value"]
    assert not batch_pod.status.nominated_node_name
    still = {p.metadata.name for p in split(local_cluster.pods(namespace, "app=filler"))[0]}
    assert still == filler_names, "a non-preempting pod evicted a filler"

    # Serving preempts one filler and takes its GPU.
    core.create_namespaced_pod(namespace, pod("serving", requests=gpu_pod, tolerations=tolerations,
                                              priority_class=serving["metadata"]["name"], node_selector=pinned))
    serving_pod = wait_for(
        lambda: (p := core.read_namespaced_pod("serving", namespace)).spec.node_name and p.status.phase == "Running" and p,
        120, "the serving pod running after preemption",
    )
    assert serving_pod.spec.node_name in names(gpu_nodes)
    survivors = {p.metadata.name for p in local_cluster.pods(namespace, "app=filler") if p.metadata.deletion_timestamp is None}
    assert len(filler_names - survivors) == 1, "serving should preempt exactly one filler"
    assert core.read_namespaced_pod("batch", namespace).spec.node_name is None
