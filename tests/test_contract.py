"""The isolation contract: tolerations always match the taint they were derived from."""

import pytest

from gpu_node_pools.contract import GPU_PRESENT_LABEL, IsolationContract, Taint

TAINTS = [
    Taint("nvidia.com/gpu", "true", "NoSchedule"),
    Taint("nvidia.com/gpu", "present", "NoSchedule"),
    Taint("workload", "heavy", "NoSchedule"),
    Taint("example.com/accelerator", "", "NoExecute"),
]


@pytest.mark.parametrize("taint", TAINTS, ids=str)
def test_gpu_toleration_matches_its_taint_whatever_the_value(taint: Taint) -> None:
    contract = IsolationContract(gpu_taint=taint)
    toleration = contract.gpu_toleration()
    assert toleration == {"key": taint.key, "operator": "Exists", "effect": taint.effect}
    assert contract.tolerates_gpu_taint([toleration])
    # a later change of the taint's value keeps the same toleration valid
    changed = IsolationContract(gpu_taint=Taint(taint.key, "something-else", taint.effect))
    assert changed.tolerates_gpu_taint([toleration])


@pytest.mark.parametrize(
    ("toleration", "tolerates"),
    [
        ({"key": "nvidia.com/gpu", "operator": "Exists"}, True),
        ({"operator": "Exists"}, True),  # tolerates everything
        ({"key": "nvidia.com/gpu", "operator": "Equal", "value": "true", "effect": "NoSchedule"}, True),
        ({"key": "nvidia.com/gpu", "operator": "Equal", "value": "present", "effect": "NoSchedule"}, False),
        ({"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoExecute"}, False),
        ({"key": "CriticalAddonsOnly", "operator": "Exists"}, False),
    ],
)
def test_toleration_matching_follows_kubernetes_rules(toleration: dict, tolerates: bool) -> None:
    assert IsolationContract().tolerates_gpu_taint([toleration]) is tolerates


def test_gpu_nodes_are_labelled_and_tainted_general_nodes_are_not() -> None:
    contract = IsolationContract()
    assert contract.node_labels("gpu", gpu=True)[GPU_PRESENT_LABEL] == "true"
    assert GPU_PRESENT_LABEL not in contract.node_labels("general", gpu=False)
    assert contract.node_taints(gpu=True) == [contract.gpu_taint]
    assert contract.node_taints(gpu=False) == []


def test_daemon_scheduling_selects_gpu_nodes_and_addons_avoid_them() -> None:
    contract = IsolationContract()
    gpu_terms = contract.gpu_daemon_scheduling()["affinity"]["nodeAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert gpu_terms == [{"matchExpressions": [{"key": GPU_PRESENT_LABEL, "operator": "In", "values": ["true"]}]}]
    addon = contract.general_addon_scheduling()
    assert "tolerations" not in addon
    expression = addon["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
        "nodeSelectorTerms"][0]["matchExpressions"][0]
    assert expression == {"key": GPU_PRESENT_LABEL, "operator": "NotIn", "values": ["true"]}


def test_device_plugin_affinity_skips_nodes_with_a_builtin_plugin() -> None:
    terms = IsolationContract().device_plugin_node_affinity()["nodeAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert terms == [{"matchExpressions": [
        {"key": GPU_PRESENT_LABEL, "operator": "In", "values": ["true"]},
        {"key": "gpu-node-pools.io/builtin-device-plugin", "operator": "NotIn", "values": ["true"]},
    ]}]
