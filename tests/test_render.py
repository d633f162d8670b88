"""`gpu-node-pools render` and the scripts' `simulated-nodes`: the stack's objects, in apply order. Their schemas and
containers are checked with every builder's in test_object_builders.py."""

import pytest
import yaml
from pulumi_harness import PROJECT_WITH_IMAGE

from gpu_node_pools import script_commands
from gpu_node_pools.cli import main
from gpu_node_pools.config.stack_files import load_stack
from gpu_node_pools.parts import in_cluster_objects, object_id

STACKS = ["dev", "prod", "local"]


def cli_yaml(capsys: pytest.CaptureFixture[str], *args: str, entry=main) -> list[dict]:
    assert entry(["--project-dir", str(PROJECT_WITH_IMAGE), *args] if entry is main else list(args)) == 0
    return [doc for doc in yaml.safe_load_all(capsys.readouterr().out) if doc]


@pytest.mark.parametrize("stack", STACKS)
def test_render_prints_the_stacks_layer_with_one_object_per_id(stack: str, capsys) -> None:
    objects = cli_yaml(capsys, "render", "--stack", stack)
    assert objects == in_cluster_objects(load_stack(stack, PROJECT_WITH_IMAGE, resolve_image=True))
    ids = [object_id(o) for o in objects]
    assert len(ids) == len(set(ids)), "two objects share a kind, namespace and name"


@pytest.mark.parametrize("stack", STACKS)
def test_namespaces_come_before_the_objects_in_them(stack: str, capsys) -> None:
    objects = cli_yaml(capsys, "render", "--stack", stack)
    seen_namespaces = {"kube-system", "default"}
    for obj in objects:
        namespace = obj["metadata"].get("namespace")
        assert namespace is None or namespace in seen_namespaces, object_id(obj)
        if obj["kind"] == "Namespace":
            seen_namespaces.add(obj["metadata"]["name"])


def test_simulated_nodes_mirror_the_local_pools(capsys) -> None:
    nodes = cli_yaml(capsys, "simulated-nodes", "--stack", "local", entry=script_commands.main)
    config = load_stack("local")
    # Managed pools only: Karpenter launches an elastic pool's nodes when pods need them.
    assert config.elastic_pools, "the local stack should have an elastic pool"
    assert len(nodes) == sum(p.node_scaling.desired_size for p in config.managed_pools)
    assert not {n["metadata"]["labels"]["gpu-node-pools.io/pool"] for n in nodes} & {p.name for p in config.elastic_pools}
    for node in nodes:
        labels = node["metadata"]["labels"]
        gpu = labels.get("nvidia.com/gpu.present") == "true"
        taints = node["spec"].get("taints", [])
        assert (config.contract.gpu_taint.to_k8s() in taints) is gpu
        assert ("nvidia.com/gpu" in node["status"]["allocatable"]) is gpu
        assert labels["eks.amazonaws.com/nodegroup"] == labels["gpu-node-pools.io/pool"]
