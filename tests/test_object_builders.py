"""One bar for every object builder; the builders' own tests pin down what is particular to each.

- Every object passes its schema: Kubernetes' own for the versions we support, or its CRD's (k8s_schema.py).
- Every container sets cpu and memory requests and limits, runs as non-root, keeps a read-only root filesystem,
  cannot escalate privileges, drops every capability and runs under the RuntimeDefault seccomp profile, unless
  EXCEPTIONS names its workload and the rule, with the reason.

Cases: every in-cluster part of the registry (parts.py) with its sample args (builder_samples.py; a part with none
is built from its args model's defaults, so a new add-on is checked from the day it is registered), the local
cluster's simulated nodes, and each stack's whole in-cluster layer.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from builder_samples import DEVICE_PLUGIN, METRICS_SERVER, NODE_AGENT, NODE_AGENT_IMAGE, PRIORITY_CLASSES, TENANTS
from gpu_node_pools.config.platform import parse_platform_config
from gpu_node_pools.config.stack_files import load_stack
from pulumi_harness import PROJECT_WITH_IMAGE
from gpu_node_pools.contract import IsolationContract
from gpu_node_pools.manifests.simulated_nodes import simulated_nodes
from gpu_node_pools.parts import IN_CLUSTER_PARTS, InClusterPart, in_cluster_objects
from k8s_objects import containers, one, pod_specs
from k8s_schema import validate_objects

Objects = list[dict[str, Any]]
EKS = {"mode": "eks", "name": "gpu-prod", "subnetIds": ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"],
       "publicAccessCidrs": ["203.0.113.0/24"]}
GENERAL_POOL = {"name": "general", "kind": "general", "instanceTypes": ["m6i.large"], "scaling": {"min": 2, "max": 3}}

# Part key -> sample name -> the part's args as a caller writes them (Karpenter, which has no args model of its own,
# takes a platform's config).
PART_SAMPLES: dict[str, dict[str, dict[str, Any]]] = {
    "priorityClasses": PRIORITY_CLASSES,
    "tenants": {name: {"tenants": [tenant]} for name, tenant in TENANTS.items()},
    "devicePlugin": DEVICE_PLUGIN,
    "metricsServer": METRICS_SERVER,
    "nodeAgent": {name: {"image": NODE_AGENT_IMAGE, **config} for name, config in NODE_AGENT.items()},
    "karpenter": {
        name: {"cluster": EKS, "nodePools": [GENERAL_POOL], "nodeAgent": {"image": NODE_AGENT_IMAGE},
               "karpenter": {"enabled": True, **karpenter}}
        for name, karpenter in {"default": {}, "digest": {"controller": {"imageDigest": "sha256:" + "c" * 64}}}.items()
    },
    "autoMode": {"default": {
        "cluster": {**EKS, "mode": "eks-auto"}, "nodeAgent": {"image": NODE_AGENT_IMAGE},
        "nodePools": [{"name": "gpu", "kind": "gpu", "elastic": {"instanceFamilies": ["g6"], "limits": {"gpus": 2}}}],
    }},
    "nodePools": {"elastic": {"name": "gpu-elastic", "kind": "gpu", "elastic": {
        "instanceFamilies": ["g5", "g6"], "capacityTypes": ["spot", "on-demand"], "limits": {"gpus": 4}}}},
    "alerts": {"operator": {"prometheusRule": True, "podMonitor": True, "ruleLabels": {"release": "prometheus"},
                            "nodeAgent": {"image": NODE_AGENT_IMAGE}}},
}


def part_objects(part: InClusterPart[Any], sample: dict[str, Any]) -> Objects:
    args = part.args_model.model_validate(sample) if part.args_model else parse_platform_config(sample, "sample")
    return part.build(args)


CASES: dict[str, Callable[[], Objects]] = {
    **{f"{part.key}/{name}": (lambda part=part, sample=sample: part_objects(part, sample))
       for part in IN_CLUSTER_PARTS for name, sample in PART_SAMPLES.get(part.key, {"default": {}}).items()},
    "simulatedNodes/local": lambda: simulated_nodes(load_stack("local").node_pools, IsolationContract()),
    **{f"stack/{stack}": (
        lambda stack=stack: in_cluster_objects(load_stack(stack, PROJECT_WITH_IMAGE, resolve_image=True)))
       for stack in ("dev", "prod", "local", "auto")},
}

# (workload name, rule) -> why that workload may break that rule. Nothing else may.
EXCEPTIONS = {
    ("nvidia-device-plugin-daemonset", "runs as non-root"):
        "registers its socket in the kubelet's device-plugins directory, writable by root only",
    ("nvidia-device-plugin-gpu-shared", "runs as non-root"):
        "the same device plugin, for the local stack's shared pool's nodes (its named config)",
    ("nvidia-device-plugin-gpu-mig", "runs as non-root"):
        "the same device plugin, for the local stack's MIG pool's nodes (its named config)",
    ("gpu-node-agent", "runs as non-root"):
        "with podResources on (only then: its own tests say so), reads the kubelet's pod-resources socket, "
        "writable by root only",
}


def _effective(context: dict[str, Any], pod_context: dict[str, Any], key: str) -> Any:
    """A container's security setting, or the pod's when the container leaves it out (as the kubelet reads it)."""
    return context.get(key, pod_context.get(key))


def broken_rules(spec: dict[str, Any]) -> dict[str, list[str]]:
    """Container name -> the rules it breaks, for one pod spec."""
    pod_context = spec.get("securityContext", {})
    broken = {}
    for container in containers(spec):
        context = container.get("securityContext", {})
        resources = container.get("resources", {})
        user = _effective(context, pod_context, "runAsUser")
        checks = {
            "sets cpu and memory requests and limits":
                all({"cpu", "memory"} <= set(resources.get(bound, {})) for bound in ("requests", "limits")),
            "runs as non-root": user != 0 and (_effective(context, pod_context, "runAsNonRoot") is True
                                               or (user or 0) > 0),
            "has a read-only root filesystem": context.get("readOnlyRootFilesystem") is True,
            "cannot escalate privileges":
                context.get("allowPrivilegeEscalation") is False and not context.get("privileged"),
            "drops every capability": context.get("capabilities") == {"drop": ["ALL"]},
            "runs under RuntimeDefault seccomp":
                _effective(context, pod_context, "seccompProfile") == {"type": "RuntimeDefault"},
        }
        broken[container["name"]] = [rule for rule, holds in checks.items() if not holds]
    return broken


def problems(objects: Objects) -> list[str]:
    """Every rule a container breaks without an exception, as `Kind/name container: rule`."""
    return [f"{o['kind']}/{o['metadata']['name']} {name}: {rule}"
            for o in objects for spec in pod_specs(o) for name, rules in broken_rules(spec).items()
            for rule in rules if (o["metadata"]["name"], rule) not in EXCEPTIONS]


@pytest.fixture(scope="module", params=CASES)
def objects(request: pytest.FixtureRequest) -> Objects:
    return CASES[request.param]()


def test_objects_pass_their_schema(objects: Objects) -> None:
    validate_objects(objects)


def test_containers_are_bounded_and_locked_down(objects: Objects) -> None:
    assert problems(objects) == []


def test_every_sample_builds_objects_and_names_a_registered_part() -> None:
    assert [case for case, build in CASES.items() if not build()] == []
    assert set(PART_SAMPLES) <= {part.key for part in IN_CLUSTER_PARTS}


def test_every_exception_is_needed_by_some_case() -> None:
    used = {(o["metadata"]["name"], rule) for build in CASES.values() for o in build() for spec in pod_specs(o)
            for rules in broken_rules(spec).values() for rule in rules}
    assert set(EXCEPTIONS) <= used, sorted(set(EXCEPTIONS) - used)


def test_the_rules_catch_each_breach() -> None:
    objects = copy.deepcopy(CASES["metricsServer/default"]())
    spec = next(spec for o in objects for spec in pod_specs(o))
    (container,) = spec["containers"]
    container["resources"] = {"requests": {"cpu": "1"}}
    container["securityContext"] = {"runAsUser": 0, "privileged": True, "capabilities": {"add": ["NET_ADMIN"]}}
    spec["securityContext"] = {}

    assert problems([one(objects, "Deployment")]) == [
        f"Deployment/metrics-server metrics-server: {rule}" for rule in (
            "sets cpu and memory requests and limits", "runs as non-root", "has a read-only root filesystem",
            "cannot escalate privileges", "drops every capability", "runs under RuntimeDefault seccomp")]
