"""Proof 7 (docs/local-cluster.md, Tests): the node agent's ValidatingAdmissionPolicy, driven with a real token
bound to a real pod.

The token comes from the TokenRequest API bound to the agent's DaemonSet pod on node X, so the API server's
authenticator itself puts `authentication.kubernetes.io/node-name: X` in the request's user info.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from gnp_cluster import AppliedLayer, LocalCluster
from gnp_workloads import GPU_PRESENT, agent_daemonset, agent_prefix, running_agent_pod

pytestmark = pytest.mark.cluster


@pytest.fixture(scope="module")
def agent(local_cluster: LocalCluster, local_layer: AppliedLayer) -> tuple[client.CoreV1Api, str, str, str]:
    """(client authenticated as the agent pod on node X, X, another node Y, the agent's label prefix)."""
    ds = agent_daemonset(local_layer)
    pod = running_agent_pod(local_cluster, ds)
    token = local_cluster.pod_bound_token(pod, ds["spec"]["template"]["spec"]["serviceAccountName"], seconds=600)
    as_agent = client.CoreV1Api(local_cluster.as_token(token))
    node_x = pod.spec.node_name
    others = [n.metadata.name for n in local_cluster.nodes() if n.metadata.name != node_x]
    # Prefer another GPU node as Y: the policy must fence nodes of the agent's own kind too.
    gpu_others = [n.metadata.name for n in local_cluster.nodes(f"{GPU_PRESENT}=true") if n.metadata.name != node_x]
    return as_agent, node_x, (gpu_others or others)[0], agent_prefix(ds)


def denied(call: Any, message: str) -> None:
    with pytest.raises(ApiException) as err:
        call()
    assert err.value.status in (403, 422), err.value
    assert message in json.loads(err.value.body)["message"], err.value.body


def test_token_carries_the_pod_node(local_cluster: LocalCluster, agent: tuple[Any, str, str, str]) -> None:
    as_agent, node_x, _, _ = agent
    review = client.AuthenticationV1Api(as_agent.api_client).create_self_subject_review({})
    assert review.status.user_info.extra["authentication.kubernetes.io/node-name"] == [node_x]


def test_agent_may_label_its_own_node_under_its_prefix(
    local_cluster: LocalCluster, agent: tuple[Any, str, str, str]
) -> None:
    as_agent, node_x, _, prefix = agent
    as_agent.patch_node(node_x, {"metadata": {"labels": {f"{prefix}proof": "7"}}})
    assert local_cluster.core().read_node(node_x).metadata.labels[f"{prefix}proof"] == "7"
    as_agent.patch_node(node_x, {"metadata": {"labels": {f"{prefix}proof": None}}})
    assert f"{prefix}proof" not in local_cluster.core().read_node(node_x).metadata.labels


def test_agent_may_not_label_another_node(agent: tuple[Any, str, str, str]) -> None:
    as_agent, _, node_y, prefix = agent
    denied(lambda: as_agent.patch_node(node_y, {"metadata": {"labels": {f"{prefix}proof": "7"}}}),
           "the node agent may only change the Node its pod runs on")


def test_agent_may_not_set_a_label_outside_its_prefix(agent: tuple[Any, str, str, str]) -> None:
    as_agent, node_x, _, prefix = agent
    denied(lambda: as_agent.patch_node(node_x, {"metadata": {"labels": {"example.com/proof": "7"}}}),
           f"the node agent may only set labels under {prefix}")


def test_agent_may_not_remove_a_label_outside_its_prefix(agent: tuple[Any, str, str, str]) -> None:
    as_agent, node_x, _, prefix = agent
    denied(lambda: as_agent.patch_node(node_x, {"metadata": {"labels": {GPU_PRESENT: None}}}),
           f"the node agent may only remove labels under {prefix}")


def test_agent_may_not_change_taints(local_cluster: LocalCluster, agent: tuple[Any, str, str, str]) -> None:
    as_agent, node_x, _, _ = agent
    taints = local_cluster.core().read_node(node_x).spec.taints or []
    assert taints, f"GPU node {node_x} should be tainted"
    denied(lambda: as_agent.patch_node(node_x, {"spec": {"taints": []}}),
           "the node agent may only add or remove its own taint")


def test_agent_may_add_and_remove_only_its_own_repair_taint(
    local_cluster: LocalCluster, agent: tuple[Any, str, str, str]
) -> None:
    as_agent, node_x, node_y, prefix = agent
    taints = [{"key": t.key, "value": t.value, "effect": t.effect}
              for t in local_cluster.core().read_node(node_x).spec.taints or []]
    ours = {"key": f"{prefix}gpu-unhealthy", "effect": "NoSchedule"}
    as_agent.patch_node(node_x, {"spec": {"taints": [*taints, ours]}})
    assert ours["key"] in {t.key for t in local_cluster.core().read_node(node_x).spec.taints}
    as_agent.patch_node(node_x, {"spec": {"taints": taints}})
    assert ours["key"] not in {t.key for t in local_cluster.core().read_node(node_x).spec.taints}
    denied(lambda: as_agent.patch_node(node_x, {"spec": {"taints": [*taints, {**ours, "effect": "NoExecute"}]}}),
           "is NoSchedule without a value")
    denied(lambda: as_agent.patch_node(node_y, {"spec": {"taints": [ours]}}),
           "the node agent may only change the Node its pod runs on")
    denied(lambda: as_agent.patch_node(node_x, {"spec": {"unschedulable": True}}),
           "the node agent may not change spec.unschedulable")


def test_agent_may_not_change_annotations(agent: tuple[Any, str, str, str]) -> None:
    as_agent, node_x, _, _ = agent
    denied(lambda: as_agent.patch_node(node_x, {"metadata": {"annotations": {"example.com/proof": "7"}}}),
           "the node agent may not change metadata.annotations")


def _repair_condition(layer: AppliedLayer) -> tuple[str, str]:
    """(type, unhealthy status) the local stack's agent writes (GPU_NODE_AGENT_REPAIR_CONDITION)."""
    [container] = agent_daemonset(layer)["spec"]["template"]["spec"]["containers"]
    value = next(e["value"] for e in container["env"] if e["name"] == "GPU_NODE_AGENT_REPAIR_CONDITION")
    kind, status = value.split("=")
    return kind, status


def _condition(kind: str, status: str) -> dict[str, Any]:
    return {"status": {"conditions": [{"type": kind, "status": status, "reason": "Proof", "message": "proof 7"}]}}


def test_agent_may_set_its_repair_condition_on_its_own_node(
    local_cluster: LocalCluster, local_layer: AppliedLayer, agent: tuple[Any, str, str, str]
) -> None:
    as_agent, node_x, _, _ = agent
    kind, unhealthy = _repair_condition(local_layer)
    healthy = "False" if unhealthy == "True" else "True"
    # A static node (no NodeClaim): nothing repairs it, even while the condition says unhealthy.
    for status in (unhealthy, healthy):
        as_agent.patch_node_status(node_x, _condition(kind, status))
        conditions = {c.type: c for c in local_cluster.core().read_node_status(node_x).status.conditions}
        assert conditions[kind].status == status and conditions["Ready"].status == "True"


def test_agent_may_not_set_its_condition_on_another_node(
    local_layer: AppliedLayer, agent: tuple[Any, str, str, str]
) -> None:
    as_agent, _, node_y, _ = agent
    kind, unhealthy = _repair_condition(local_layer)
    denied(lambda: as_agent.patch_node_status(node_y, _condition(kind, unhealthy)),
           "the node agent may only change the status of the Node its pod runs on")


@pytest.mark.parametrize("kind", ["Ready", "MemoryPressure", "AcceleratedHardwareReady"])
def test_agent_may_not_set_any_other_condition(kind: str, agent: tuple[Any, str, str, str]) -> None:
    as_agent, node_x, _, _ = agent
    denied(lambda: as_agent.patch_node_status(node_x, _condition(kind, "False")),
           "in a Node's status.conditions")


def test_agent_may_not_change_other_status_fields(agent: tuple[Any, str, str, str]) -> None:
    as_agent, node_x, _, _ = agent
    denied(lambda: as_agent.patch_node_status(node_x, {"status": {"capacity": {"nvidia.com/gpu": "64"}}}),
           "the node agent may not change status.capacity")
