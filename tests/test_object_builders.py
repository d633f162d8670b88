"""One bar for every object builder; the builders' own tests pin down what is particular to each.

- Every object passes its schema: Kubernetes' own for the versions we support, or its CRD's (k8s_schema.py).
- Every container sets cpu and memory requests and limits, runs as non-root, keeps a read-only root filesystem,
  cannot escalate privileges, drops every capability and runs under the RuntimeDefault seccomp profile, unless
  EXCEPTIONS names its workload and the rule, with the reason.

Cases: each builder with its sample configs (builder_samples.py), and each stack's whole in-cluster layer (which is
where the CRDs, the NodePools and the parts as the stack files configure them are checked).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from builder_samples import DEVICE_PLUGIN, METRICS_SERVER, NODE_AGENT, NODE_AGENT_IMAGE, PRIORITY_CLASSES, TENANTS
from gpu_node_pools.alerts.operator import build_monitoring
from gpu_node_pools.config.alerts import AlertsConfig
from gpu_node_pools.config.device_plugin import DevicePluginConfig
from gpu_node_pools.config.karpenter import KarpenterConfig, NodeClassConfig
from gpu_node_pools.config.metrics_server import MetricsServerConfig
from gpu_node_pools.config.node_agent import NodeAgentConfig
from gpu_node_pools.config.priority_classes import PriorityLadderConfig
from gpu_node_pools.config.stack_files import load_stack
from gpu_node_pools.config.tenants import TenantNamespaceConfig
from gpu_node_pools.contract import IsolationContract
from gpu_node_pools.manifests.device_plugin import build_device_plugin
from gpu_node_pools.manifests.ec2_node_class import build_ec2_node_class
from gpu_node_pools.manifests.karpenter_controller import build_karpenter_controller
from gpu_node_pools.manifests.metrics_server import build_metrics_server
from gpu_node_pools.manifests.node_agent import build_node_agent
from gpu_node_pools.manifests.priority_classes import build_priority_classes
from gpu_node_pools.manifests.simulated_nodes import simulated_nodes
from gpu_node_pools.manifests.tenants import build_tenant_namespace
from gpu_node_pools.parts import in_cluster_objects
from k8s_objects import containers, one, pod_specs
from k8s_schema import validate_objects

Objects = list[dict[str, Any]]
CONTRACT = IsolationContract()
DIGEST = "sha256:" + "c" * 64

# builder -> (objects from a sample config, its samples)
BUILDERS: dict[str, tuple[Callable[[dict[str, Any]], Objects], dict[str, dict[str, Any]]]] = {
    "device-plugin": (lambda c: build_device_plugin(DevicePluginConfig.model_validate(c), CONTRACT), DEVICE_PLUGIN),
    "metrics-server": (lambda c: build_metrics_server(MetricsServerConfig.model_validate(c), CONTRACT),
                       METRICS_SERVER),
    "node-agent": (lambda c: build_node_agent(NodeAgentConfig.model_validate({"image": NODE_AGENT_IMAGE, **c}),
                                              CONTRACT), NODE_AGENT),
    "priority-classes": (lambda c: build_priority_classes(PriorityLadderConfig.model_validate(c), CONTRACT),
                         PRIORITY_CLASSES),
    "tenants": (lambda c: build_tenant_namespace(TenantNamespaceConfig.model_validate(c), CONTRACT), TENANTS),
    "karpenter-controller": (
        lambda c: build_karpenter_controller(KarpenterConfig.model_validate({"enabled": True, **c}),
                                             cluster_name="gpu-prod", interruption_queue="gpu-prod-karpenter"),
        {"default": {}, "digest": {"controller": {"imageDigest": DIGEST}}}),
    "ec2-node-class": (
        lambda c: [build_ec2_node_class(NodeClassConfig.model_validate(c), instance_profile="gpu-prod-karpenter-node",
                                        subnet_ids=["subnet-0d2e7a91c4b3f0001"], security_group_id="sg-0d2e7a91c4b3f1234")],
        {"default": {}}),
    "monitoring": (
        lambda c: build_monitoring(AlertsConfig.model_validate(c), NodeAgentConfig(image=NODE_AGENT_IMAGE)),
        {"operator": {"prometheusRule": True, "podMonitor": True, "ruleLabels": {"release": "prometheus"}}}),
    "simulated-nodes": (lambda c: simulated_nodes(load_stack(c["stack"]).node_pools, CONTRACT),
                        {"local": {"stack": "local"}}),
}
STACKS = ("dev", "prod", "local")
CASES: dict[str, Callable[[], Objects]] = {
    **{f"{builder}/{sample}": (lambda build=build, config=config: build(config))
       for builder, (build, samples) in BUILDERS.items() for sample, config in samples.items()},
    **{f"stack/{stack}": (lambda stack=stack: in_cluster_objects(load_stack(stack))) for stack in STACKS},
}

# (workload name, rule) -> why that workload may break that rule. Nothing else may.
EXCEPTIONS = {
    ("nvidia-device-plugin-daemonset", "runs as non-root"):
        "registers its socket in the kubelet's device-plugins directory, writable by root only",
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


def test_every_builder_builds_something_in_every_sample() -> None:
    assert [case for case, build in CASES.items() if not build()] == []


def test_every_exception_is_needed_by_some_case() -> None:
    used = {(o["metadata"]["name"], rule) for build in CASES.values() for o in build() for spec in pod_specs(o)
            for rules in broken_rules(spec).values() for rule in rules}
    assert set(EXCEPTIONS) <= used, sorted(set(EXCEPTIONS) - used)


def test_the_rules_catch_each_breach() -> None:
    objects = copy.deepcopy(CASES["metrics-server/default"]())
    spec = next(spec for o in objects for spec in pod_specs(o))
    (container,) = spec["containers"]
    container["resources"] = {"requests": {"cpu": "1"}}
    container["securityContext"] = {"runAsUser": 0, "privileged": True, "capabilities": {"add": ["NET_ADMIN"]}}
    spec["securityContext"] = {}

    assert problems([one(objects, "Deployment")]) == [
        f"Deployment/metrics-server metrics-server: {rule}" for rule in (
            "sets cpu and memory requests and limits", "runs as non-root", "has a read-only root filesystem",
            "cannot escalate privileges", "drops every capability", "runs under RuntimeDefault seccomp")]
