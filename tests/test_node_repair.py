"""Node repair end to end in the stacks: managed GPU node groups and Karpenter repair nodes, the node agent writes the
condition they act on, and where EKS' node monitoring agent add-on writes it, the node agent neither writes nor may.
(The local proof with the real Karpenter is tests/integration/test_karpenter.py.)"""

from __future__ import annotations

import json
from typing import Any

import pytest
from eks_model import eks_problems
from k8s_objects import one

from gpu_node_pools.aws.addons import MANAGED_ADDONS
from gpu_node_pools.cli import main
from gpu_node_pools.config.stack_files import load_stack
from gpu_node_pools.parts import in_cluster_objects


def _container_env(objects: list[dict[str, Any]], name: str, kind: str = "DaemonSet") -> dict[str, str]:
    ds = one(objects, kind, name)
    return {e["name"]: e.get("value", "") for e in ds["spec"]["template"]["spec"]["containers"][0]["env"]}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_managed_gpu_node_groups_and_only_they_turn_node_repair_on(
    stack: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["pools", "--stack", stack, "--json"]) == 0
    requests = json.loads(capsys.readouterr().out)
    config = load_stack(stack)
    kinds = {p.name: p.kind for p in config.managed_pools}
    for request in requests:
        gpu = kinds[request["tags"]["gpu-node-pools.io/pool"]] == "gpu"
        assert request.get("nodeRepairConfig") == ({"enabled": True} if gpu else None), request["nodegroupName"]
        assert eks_problems("CreateNodegroup", request) == []


def test_karpenter_on_eks_runs_with_the_node_repair_gate() -> None:
    objects = in_cluster_objects(load_stack("prod"))
    gates = dict(g.split("=") for g in _container_env(objects, "karpenter", "Deployment")["FEATURE_GATES"].split(","))
    assert gates["NodeRepair"] == "true"


def test_the_local_stack_writes_the_condition_the_kwok_provider_repairs() -> None:
    config = load_stack("local")
    assert config.node_agent_deployed.node_repair.agent_flag == "KWOKUnhealthy=True"


def test_with_the_node_monitoring_agent_add_on_it_alone_writes_the_condition() -> None:
    config = load_stack("prod")
    assert config.node_agent_deployed.node_repair.enabled, "by default the node agent writes AcceleratedHardwareReady"
    assert _container_env(in_cluster_objects(config), "gpu-node-agent")["GPU_NODE_AGENT_REPAIR_CONDITION"] == (
        "AcceleratedHardwareReady=False"
    )
    assert "eks-node-monitoring-agent" in {a.name for a in MANAGED_ADDONS}
    assert not config.cluster.addons.enabled("eks-node-monitoring-agent"), "an optional add-on is off by default"

    addons = config.cluster.addons.model_copy(
        update={"eks_node_monitoring_agent": config.cluster.addons.eks_node_monitoring_agent.model_copy(
            update={"enabled": True})}
    )
    with_nma = config.model_copy(update={"cluster": config.cluster.model_copy(update={"addons": addons})})
    assert with_nma.cluster.addons.enabled("eks-node-monitoring-agent")
    objects = in_cluster_objects(with_nma)
    assert "GPU_NODE_AGENT_REPAIR_CONDITION" not in _container_env(objects, "gpu-node-agent")
    rules = one(objects, "ClusterRole", "gpu-node-agent")["rules"]
    assert all("nodes/status" not in r["resources"] for r in rules)
