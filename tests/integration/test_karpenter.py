"""Elastic pools on the real control plane with the real Karpenter (its kwok provider, scripts/cluster.sh): GPU
pools scale from zero on demand, only for pods that tolerate the GPU taint, never past their cap, give nodes back
after consolidateAfter, roll onto a new capacity type by drift, and replace a node whose GPU the node agent
reports broken (node repair); general pools grow with CPU pods and shrink when they go, never onto a GPU
instance, and no GPU pod lands on them; an eks-auto stack's NodePools (Auto Mode's label keys) do the same
once their NodeClass is the local one.

Each test declares its own NodePool with the project's builder (a short consolidateAfter: tests only) and pins its
pods to it by the pool label, so the local stack's own pools neither help nor interfere.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from gnp_cluster import AppliedLayer, LocalCluster, wait_for
from gnp_workloads import GPU, affinity_admits, agent_daemonset, deployment, pod
from gpu_node_pools.config.platform import parse_platform_config
from gpu_node_pools.manifests.karpenter import KWOK_NODE_CLASS_REF, node_pool
from gpu_node_pools.parts import in_cluster_objects

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
    """Applies an elastic pool's NodePool (from the project's config model and builder; `kind` gpu or general, then
    the `elastic` keys over test defaults); deletes it afterwards and
    waits until Karpenter has given its nodes back. Tests request it before `namespace`, so their pods are gone
    before their pool is."""
    names: list[str] = []
    custom = client.CustomObjectsApi(local_cluster.api())

    def make(kind: str = "gpu", **elastic: Any) -> dict[str, Any]:
        name = f"t-{uuid.uuid4().hex[:6]}"
        sized = ({"limits": {"gpus": 4}, "instanceFamilies": ["g5", "g6"]} if kind == "gpu" else
                 {"limits": {"cpu": "32", "memory": "128Gi"}, "instanceFamilies": ["m6i", "m7i"]})
        values = {**sized, "capacityTypes": ["spot", "on-demand"],
                  "disruption": {"consolidateAfter": f"{CONSOLIDATE_AFTER_S}s"}, **elastic}
        config = parse_platform_config({
            "cluster": {"mode": "existing", "kubeconfig": "k"},
            "nodePools": [{"name": name, "kind": kind, "elastic": values}],
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


# Elastic general pools -------------------------------------------------------------------------------------------

CPU_POD = {"cpu": "3", "memory": "1Gi"}
GENERAL_FAMILIES = ("m6i", "m7i")


def test_cpu_pods_scale_a_general_pool_up_and_back_down_never_onto_a_gpu_node(
    local_cluster: LocalCluster, elastic_pool: MakePool, namespace: str
) -> None:
    pool = elastic_pool("general")
    name = pool["metadata"]["name"]
    apps = client.AppsV1Api(local_cluster.api())
    assert not nodes_of(local_cluster, name), "an elastic pool starts with no node"
    # 4 x 3 vCPUs: more than the largest allowed type (8 vCPUs) holds, so the pool grows by several nodes.
    apps.create_namespaced_deployment(namespace, deployment("web", 4, requests=CPU_POD, node_selector=pinned(pool)))

    def all_running() -> list[client.V1Pod] | None:
        pods = local_cluster.pods(namespace, "app=web")
        return pods if len(pods) == 4 and all(p.status.phase == "Running" for p in pods) else None

    wait_for(all_running, 120, "four CPU pods Running on the general pool's new nodes")
    nodes = nodes_of(local_cluster, name)
    assert len(nodes) >= 2
    for node in nodes:
        labels = node.metadata.labels
        assert labels["karpenter.k8s.aws/instance-family"] in GENERAL_FAMILIES
        assert "karpenter.k8s.aws/instance-gpu-count" not in labels and "nvidia.com/gpu.present" not in labels
        assert GPU not in (node.status.allocatable or {}), f"{node.metadata.name} is a GPU node"
        assert not [t for t in node.spec.taints or [] if t.key == "nvidia.com/gpu"]
        assert labels[POOL_LABEL] == name and labels["gpu-node-pools.io/pool-kind"] == "general"

    # Fewer pods: Karpenter packs them onto fewer nodes (WhenEmptyOrUnderutilized). An empty node going back is
    # the GPU pool's proof above; the fixture's teardown waits for this pool's last node to go.
    apps.patch_namespaced_deployment_scale("web", namespace, {"spec": {"replicas": 1}})
    wait_for(lambda: len(nodes_of(local_cluster, name)) == 1, 180, "the pool shrunk to one node for one pod")
    assert len(nodeclaims_of(local_cluster, name)) == 1


def test_gpu_pods_never_land_on_a_general_pool_even_without_its_family_requirement(
    local_cluster: LocalCluster, elastic_pool: MakePool, namespace: str
) -> None:
    """The general pool's own rule (no instance-gpu-count label) keeps GPU instances out: with its families
    removed and a cap large enough for any GPU type, neither a GPU pod nor a 40-vCPU pod (only GPU types have
    that many here) that both tolerate the GPU taint makes it launch a node."""
    pool = elastic_pool("general", limits={"cpu": "1000", "memory": "4Ti"})
    name = pool["metadata"]["name"]
    spec = pool["spec"]["template"]["spec"]
    spec["requirements"] = [r for r in spec["requirements"] if r["key"] != "karpenter.k8s.aws/instance-family"]
    local_cluster.apply([pool])
    core = local_cluster.core()
    tolerate_gpu = [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    core.create_namespaced_pod(namespace, pod("gpu-job", requests=GPU_POD, tolerations=tolerate_gpu,
                                              node_selector=pinned(pool)))
    core.create_namespaced_pod(namespace, pod("cpu-hungry", requests={"cpu": "40", "memory": "1Gi"},
                                              tolerations=tolerate_gpu, node_selector=pinned(pool)))
    for pod_name in ("gpu-job", "cpu-hungry"):
        wait_for(lambda: karpenter_events(local_cluster, namespace, pod_name), 60,
                 f"Karpenter's reason for not launching a node for {pod_name}")
    time.sleep(CONSOLIDATE_AFTER_S)
    assert not nodeclaims_of(local_cluster, name) and not nodes_of(local_cluster, name)
    for pod_name in ("gpu-job", "cpu-hungry"):
        assert core.read_namespaced_pod(pod_name, namespace).spec.node_name is None


# EKS Auto Mode's NodePools ----------------------------------------------------------------------------------------


@pytest.fixture
def auto_mode_pools(local_cluster: LocalCluster) -> Iterator[dict[str, dict[str, Any]]]:
    """An eks-auto stack's general and GPU NodePools exactly as it renders them (Auto Mode's label keys), with only
    the nodeClassRef swapped for the local KWOKNodeClass; given back (and their nodes gone) afterwards."""
    suffix = uuid.uuid4().hex[:6]
    disruption = {"consolidateAfter": f"{CONSOLIDATE_AFTER_S}s"}
    config = parse_platform_config({
        "cluster": {"mode": "eks-auto", "name": "gpu-auto", "subnetIds": ["subnet-0a1b2c3d4e5f60001",
                                                                          "subnet-0a1b2c3d4e5f60002"],
                    "publicAccessCidrs": ["198.51.100.0/24"]},
        "nodePools": [
            {"name": f"general-{suffix}", "kind": "general", "elastic": {
                "instanceFamilies": ["m6i", "m7i"], "limits": {"cpu": "32", "memory": "128Gi"}, "disruption": disruption}},
            {"name": f"gpu-{suffix}", "kind": "gpu", "elastic": {
                "instanceFamilies": ["g6"], "capacityTypes": ["spot", "on-demand"], "limits": {"gpus": 2},
                "disruption": disruption}},
        ],
        "nodeAgent": {"image": "gpu-node-agent:local"},
    }, "test")
    pools = {o["metadata"]["name"].split("-")[0]: o for o in in_cluster_objects(config) if o["kind"] == "NodePool"}
    for obj in pools.values():
        assert obj["spec"]["template"]["spec"]["nodeClassRef"]["group"] == "eks.amazonaws.com"
        obj["spec"]["template"]["spec"]["nodeClassRef"] = dict(KWOK_NODE_CLASS_REF)
    local_cluster.apply(list(pools.values()))
    yield pools
    custom = client.CustomObjectsApi(local_cluster.api())
    for obj in pools.values():
        custom.delete_cluster_custom_object("karpenter.sh", "v1", "nodepools", obj["metadata"]["name"])
    for obj in pools.values():
        name = obj["metadata"]["name"]
        wait_for(lambda: not nodes_of(local_cluster, name) and not nodeclaims_of(local_cluster, name), 120,
                 f"NodePool {name}'s nodes given back")


def test_auto_mode_node_pools_scale_gpu_and_general_capacity_and_keep_them_apart(
    local_cluster: LocalCluster, auto_mode_pools: dict[str, dict[str, Any]], namespace: str
) -> None:
    general, gpu = auto_mode_pools["general"], auto_mode_pools["gpu"]
    core, apps = local_cluster.core(), client.AppsV1Api(local_cluster.api())
    tolerate_gpu = gpu_tolerations(gpu)
    apps.create_namespaced_deployment(namespace, deployment("web", 3, requests=CPU_POD, node_selector=pinned(general)))
    core.create_namespaced_pod(namespace, pod("train", requests=GPU_POD, tolerations=tolerate_gpu,
                                              node_selector=pinned(gpu)))
    # A GPU pod pinned to the general pool: it has no GPU type, so it never gets a node.
    core.create_namespaced_pod(namespace, pod("misplaced", requests=GPU_POD, tolerations=tolerate_gpu,
                                              node_selector=pinned(general)))

    def running(selector: str, count: int) -> list[client.V1Pod] | None:
        pods = [p for p in local_cluster.pods(namespace, selector) if p.status.phase == "Running"]
        return pods if len(pods) == count else None

    wait_for(lambda: running("app=web", 3), 120, "three CPU pods Running on Auto Mode general nodes")
    wait_for(lambda: running("app=train", 1), 120, "the GPU pod Running on an Auto Mode GPU node")
    for node in nodes_of(local_cluster, general["metadata"]["name"]):
        labels = node.metadata.labels
        assert labels["eks.amazonaws.com/instance-family"] in GENERAL_FAMILIES
        assert GPU not in (node.status.allocatable or {}) and not node.spec.taints
    [gpu_node] = nodes_of(local_cluster, gpu["metadata"]["name"])
    assert gpu_node.metadata.labels["eks.amazonaws.com/instance-family"] == "g6"
    assert gpu_node.metadata.labels["eks.amazonaws.com/instance-gpu-manufacturer"] == "nvidia"
    assert {(t.key, t.effect) for t in gpu_node.spec.taints} == {("nvidia.com/gpu", "NoSchedule")}
    assert core.read_namespaced_pod("misplaced", namespace).spec.node_name is None

    # The work goes; both pools give their nodes back.
    apps.delete_namespaced_deployment("web", namespace)
    for name in ("train", "misplaced"):
        core.delete_namespaced_pod(name, namespace, grace_period_seconds=0)
    for obj in (general, gpu):
        wait_for(lambda: not nodes_of(local_cluster, obj["metadata"]["name"]), 180,
                 f"{obj['metadata']['name']}'s empty nodes given back")


# Node repair -------------------------------------------------------------------------------------------------------

XID_AT = 3  # seconds into the agent's trace
BROKEN_GPU = {
    "driverVersion": "550.54.15",
    "cudaDriverVersion": 12040,
    "gpus": [{"name": "NVIDIA L4", "memoryTotalMiB": 23034, "computeCapability": "8.9", "migCapable": False}],
    # XID 79: the GPU fell off the bus, a critical XID (the device plugin marks the device unhealthy).
    "samples": [{"t": 0, "utilization": 90}, {"t": XID_AT, "gpus": {0: {"xid": 79}}}, {"t": 3600}],
}


def test_a_critical_xid_gets_the_node_replaced_by_a_fresh_one_while_its_pods_move(
    local_cluster: LocalCluster, local_layer: AppliedLayer, elastic_pool: MakePool, namespace: str, tmp_path: Path
) -> None:
    pool = elastic_pool(instanceFamilies=["g6"])
    name = pool["metadata"]["name"]
    core = local_cluster.core()
    client.AppsV1Api(local_cluster.api()).create_namespaced_deployment(namespace, deployment(
        "serve", 1, requests=GPU_POD, tolerations=gpu_tolerations(pool), node_selector=pinned(pool)))
    [first] = wait_for(lambda: [p for p in local_cluster.pods(namespace, "app=serve") if p.status.phase == "Running"],
                       90, "the GPU workload Running")
    broken = first.spec.node_name

    # The node agent on that node, as its DaemonSet pod would run it: a host process with a token bound to the pod.
    ds = agent_daemonset(local_layer)
    agent_ns = ds["metadata"]["namespace"]
    selector = ",".join(f"{k}={v}" for k, v in ds["spec"]["selector"]["matchLabels"].items())
    [agent_pod] = wait_for(lambda: [p for p in local_cluster.pods(agent_ns, selector)
                                    if p.spec.node_name == broken and p.status.phase == "Running"],
                           90, f"the agent pod Running on {broken}")
    [container] = ds["spec"]["template"]["spec"]["containers"]
    repair = next(e["value"] for e in container["env"] if e["name"] == "GPU_NODE_AGENT_REPAIR_CONDITION")
    assert repair == "KWOKUnhealthy=True", "the local stack writes the condition the kwok provider repairs"
    assert any(e["name"] == "GPU_NODE_AGENT_REPAIR_TAINT" and e["value"] == "true" for e in container["env"])
    token, trace = tmp_path / "token", tmp_path / "trace.yaml"
    token.write_text(local_cluster.pod_bound_token(agent_pod, ds["spec"]["template"]["spec"]["serviceAccountName"]))
    trace.write_text(yaml.safe_dump(BROKEN_GPU))
    server, ca = local_cluster.server()
    log = tmp_path / "agent.log"
    agent = subprocess.Popen(
        [str(Path(sys.executable).parent / "gpu-node-agent"), "run", "--gpu-source", f"simulated:{trace}",
         "--node-name", broken, "--namespace", agent_ns, "--api-server", server, "--token-file", str(token),
         "--ca-file", ca, "--address", "127.0.0.1", "--port", "0", "--interval", "1",
         "--repair-condition", repair, "--repair-taint"],
        stdout=log.open("w"), stderr=subprocess.STDOUT,
    )
    try:
        def condition() -> client.V1NodeCondition | None:
            node = core.read_node_status(broken)
            return next((c for c in node.status.conditions or [] if c.type == "KWOKUnhealthy"
                         and c.status == "True"), None)

        marked = wait_for(condition, 60, f"KWOKUnhealthy=True on {broken}")
        assert marked.reason == "CriticalXid"
        wait_for(lambda: any(t.key.endswith("/gpu-unhealthy") and t.effect == "NoSchedule"
                             for t in core.read_node(broken).spec.taints or []), 30, f"the repair taint on {broken}")
        ready = next(c for c in core.read_node_status(broken).status.conditions if c.type == "Ready")
        assert ready.status == "True", "the kubelet still says Ready: only the agent's condition calls for repair"

        # The kwok provider's repair policy: KWOKUnhealthy=True for 30 s -> replace the node, draining it.
        def replaced() -> tuple[client.V1Node, client.V1Pod] | None:
            nodes = {n.metadata.name: n for n in nodes_of(local_cluster, name)}
            moved = [p for p in local_cluster.pods(namespace, "app=serve") if p.status.phase == "Running"
                     and p.spec.node_name in nodes and p.spec.node_name != broken]
            return (nodes[moved[0].spec.node_name], moved[0]) if broken not in nodes and moved else None

        fresh, moved = wait_for(replaced, 240, f"{broken} replaced and the workload Running on a fresh node")
        assert moved.metadata.name != first.metadata.name, "the pod was evicted and recreated, not kept"
        assert not [c for c in fresh.status.conditions or [] if c.type == "KWOKUnhealthy" and c.status == "True"]
    finally:
        agent.terminate()
        agent.wait(timeout=15)
    assert "repair condition written" in log.read_text()
