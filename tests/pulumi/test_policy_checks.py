"""The policy pack's checks on plain resource properties, one table per policy (no engine needed).

The same checks run inside `pulumi preview --policy-pack policies` (test_policy_pack.py); here each rule's edges
are pinned down case by case.
"""

from __future__ import annotations

from typing import Any

import gpu_policies as checks
import pytest

DAEMONSET = "kubernetes:apps/v1:DaemonSet"
GOOD_RESOURCES = {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"memory": "32Mi"}}
GPU_TOLERATION = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}


def container(**fields: Any) -> dict[str, Any]:
    return {"name": "c", "image": "registry.example/app:1.2.3", "resources": GOOD_RESOURCES,
            "securityContext": {"runAsNonRoot": True}, **fields}


def workload(*containers: dict[str, Any], kind: str = DAEMONSET, name: str = "w", **pod: Any) -> tuple[str, dict]:
    spec = {"containers": list(containers), **pod}
    path = {"kubernetes:core/v1:Pod": lambda s: {"spec": s},
            "kubernetes:batch/v1:CronJob": lambda s: {"spec": {"jobTemplate": {"spec": {"template": {"spec": s}}}}},
            }.get(kind, lambda s: {"spec": {"template": {"spec": s}}})
    return kind, {"metadata": {"name": name, "namespace": "ns"}, **path(spec)}


@pytest.mark.parametrize("resources, missing", [
    (GOOD_RESOURCES, []),
    ({}, ["requests.cpu", "requests.memory", "limits.memory"]),
    ({"requests": {"cpu": "1", "memory": "1Gi"}}, ["limits.memory"]),
    ({"requests": {"memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}}, ["requests.cpu"]),
])
def test_resources(resources: dict, missing: list[str]) -> None:
    problems = checks.check_resources(*workload(container(resources=resources)))
    assert [m for m in missing if any(m in p for p in problems)] == missing
    assert bool(problems) == bool(missing)


def test_resources_covers_init_containers_and_every_workload_kind() -> None:
    bare = container(name="init", resources={})
    for kind in ("kubernetes:core/v1:Pod", "kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet",
                 "kubernetes:batch/v1:Job", "kubernetes:batch/v1:CronJob"):
        kind_, props = workload(container(), kind=kind)
        props_spec = next(checks.pod_templates(kind_, props))
        props_spec["initContainers"] = [bare]
        assert checks.check_resources(kind_, props) == [
            f"{kind.rsplit(':', 1)[1]} ns/w: container 'init' sets no resources.requests.cpu, "
            "resources.requests.memory, resources.limits.memory"]


def test_non_workloads_are_ignored() -> None:
    assert checks.check_resources("kubernetes:core/v1:ConfigMap", {"data": {}}) == []
    assert checks.check_resources("aws:eks/nodeGroup:NodeGroup", {}) == []


GPU_REQUEST = {**GOOD_RESOURCES, "limits": {"memory": "1Gi", "nvidia.com/gpu": 1}}


@pytest.mark.parametrize("tolerations, ok", [
    ([GPU_TOLERATION], True),
    ([{"operator": "Exists"}], True),  # tolerates everything
    ([{"key": "nvidia.com/gpu", "operator": "Equal", "value": "true", "effect": "NoSchedule"}], True),
    ([{"key": "nvidia.com/gpu", "operator": "Equal", "value": "present"}], False),  # k8s-device-plugin #1934
    ([{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoExecute"}], False),
    ([], False),
])
def test_gpu_toleration(tolerations: list, ok: bool) -> None:
    problems = checks.check_gpu_toleration(*workload(container(resources=GPU_REQUEST), tolerations=tolerations))
    assert problems == [] if ok else problems and "nvidia.com/gpu=true:NoSchedule" in problems[0]


def test_gpu_toleration_follows_a_configured_taint() -> None:
    taint = {"key": "workload", "value": "heavy", "effect": "NoSchedule"}
    kind, props = workload(container(resources=GPU_REQUEST), tolerations=[GPU_TOLERATION])
    assert checks.check_gpu_toleration(kind, props, taint)
    props["spec"]["template"]["spec"]["tolerations"] = [{"key": "workload", "operator": "Exists"}]
    assert checks.check_gpu_toleration(kind, props, taint) == []


def test_pods_without_gpu_requests_need_no_toleration() -> None:
    assert checks.check_gpu_toleration(*workload(container())) == []


@pytest.mark.parametrize("image, problem", [
    ("registry.k8s.io/metrics-server/metrics-server:v0.8.1", None),
    ("nvcr.io/nvidia/k8s-device-plugin@sha256:" + "a" * 64, None),
    ("localhost:5000/agent:0.1.0", None),
    ("localhost:5000/agent", "has no tag"),
    ("busybox", "has no tag"),
    ("busybox:latest", "mutable tag 'latest'"),
])
def test_images_pinned(image: str, problem: str | None) -> None:
    problems = checks.check_images_pinned(*workload(container(image=image)))
    assert problems == [] if problem is None else problem in problems[0] and image in problems[0]


DIGEST = "sha256:" + "a" * 64


@pytest.mark.parametrize("image, require, ok", [
    ("registry.k8s.io/metrics-server/metrics-server:v0.8.1", False, True),
    ("registry.k8s.io/metrics-server/metrics-server:v0.8.1", True, False),
    (f"registry.k8s.io/metrics-server/metrics-server:v0.8.1@{DIGEST}", True, True),
    (f"nvcr.io/nvidia/k8s-device-plugin@{DIGEST}", True, True),
    (f"localhost:5000/agent@{DIGEST}", True, True),
    ("localhost:5000/agent@sha256:abc", True, False),  # not a whole digest
    (f"agent@{DIGEST.upper()}", True, False),
    ("busybox:latest", True, False),
])
def test_images_pinned_by_digest_when_required(image: str, require: bool, ok: bool) -> None:
    problems = checks.check_images_pinned(*workload(container(image=image)), require_digests=require)
    assert (problems == []) is ok
    if not ok:
        assert "requireImageDigests" in problems[0] and image in problems[0]


def test_required_digests_cover_init_containers() -> None:
    kind, props = workload(container(image=f"app@{DIGEST}"))
    next(checks.pod_templates(kind, props))["initContainers"] = [container(name="init", image="init:1.0")]
    (problem,) = checks.check_images_pinned(kind, props, require_digests=True)
    assert "container 'init' image 'init:1.0' has no sha256 digest" in problem


@pytest.mark.parametrize("pod_context, container_context, ok", [
    ({}, {"runAsNonRoot": True}, True),
    ({"runAsNonRoot": True}, {}, True),
    ({"runAsUser": 1000}, {}, True),
    ({}, {}, False),
    ({"runAsNonRoot": True}, {"runAsUser": 0}, False),  # the container overrides the pod
    ({"runAsNonRoot": True}, {"runAsNonRoot": False}, False),
])
def test_non_root(pod_context: dict, container_context: dict, ok: bool) -> None:
    kind, props = workload(container(securityContext=container_context), securityContext=pod_context)
    assert (checks.check_non_root(kind, props) == []) == ok


def test_non_root_allow_list_needs_a_matching_entry_with_a_reason() -> None:
    kind, props = workload(container(securityContext={}), name="nvidia-device-plugin-daemonset")
    assert checks.check_non_root(kind, props) == []  # the default allow-list: the device plugin
    assert checks.check_non_root(kind, props, [{"kind": "DaemonSet", "name": props["metadata"]["name"]}])
    assert checks.check_non_root(kind, props, [{"kind": "Deployment", "name": "nvidia-device-plugin-daemonset",
                                                "reason": "r"}])
    assert checks.check_non_root(kind, props, [{"kind": "DaemonSet", "name": "nvidia-device-plugin-daemonset",
                                                "namespace": "other", "reason": "r"}])


NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
EKS_GPU_TAINT = {"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}


@pytest.mark.parametrize("props, ok", [
    ({"amiType": "AL2023_x86_64_NVIDIA", "instanceTypes": ["g5.xlarge"], "taints": [EKS_GPU_TAINT]}, True),
    ({"amiType": "AL2023_x86_64_NVIDIA", "instanceTypes": ["g5.xlarge"], "taints": []}, False),
    ({"amiType": "BOTTLEROCKET_x86_64_NVIDIA", "taints": [{**EKS_GPU_TAINT, "effect": "PREFER_NO_SCHEDULE"}]},
     False),
    ({"amiType": "AL2023_x86_64_STANDARD", "instanceTypes": ["p4d.24xlarge"]}, False),  # GPU by instance type
    ({"amiType": "AL2023_x86_64_STANDARD", "instanceTypes": ["m6i.xlarge"],
      "labels": {"nvidia.com/gpu.present": "true"}}, False),  # GPU by label
    ({"amiType": "AL2023_x86_64_STANDARD", "instanceTypes": ["m6i.xlarge", "c5.large"]}, True),  # not GPU
])
def test_gpu_node_group_taint(props: dict, ok: bool) -> None:
    assert (checks.check_gpu_node_group_taint(NODE_GROUP, {"nodeGroupName": "pool", **props}) == []) == ok


def test_gpu_node_group_taint_follows_a_configured_taint() -> None:
    props = {"amiType": "AL2023_x86_64_NVIDIA", "taints": [{"key": "workload", "value": "heavy",
                                                             "effect": "NO_SCHEDULE"}]}
    assert checks.check_gpu_node_group_taint(NODE_GROUP, props)
    assert checks.check_gpu_node_group_taint(
        NODE_GROUP, props, {"key": "workload", "value": "heavy", "effect": "NoSchedule"}) == []


PRIORITY_CLASS = "kubernetes:scheduling.k8s.io/v1:PriorityClass"


@pytest.mark.parametrize("global_default, allowed, ok", [
    (False, [], True),
    (True, [], False),
    (True, ["general"], True),
    (True, ["other"], False),
])
def test_priority_class_default(global_default: bool, allowed: list[str], ok: bool) -> None:
    props = {"metadata": {"name": "general"}, "value": 1000, "globalDefault": global_default}
    assert (checks.check_priority_class_default(PRIORITY_CLASS, props, allowed) == []) == ok


NODE_CLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"


@pytest.mark.parametrize("terms, require, ok", [
    ([{"alias": "al2023@v20260520"}], True, True),
    ([{"alias": "al2023@latest"}], True, False),
    ([{"alias": "al2023@latest"}], False, True),  # only prod's config demands a release
    ([{"id": "ami-0123456789abcdef0"}], True, True),
    ([{"tags": {"team": "ml"}}], True, False),  # tags and names follow whatever is tagged next
    ([{"name": "my-gpu-ami-*"}], True, False),
    ([{"alias": "al2023@v20260520"}, {"alias": "al2023@latest"}], True, False),
])
def test_node_class_ami_pinned(terms: list[dict[str, Any]], require: bool, ok: bool) -> None:
    props = {"metadata": {"name": "gpu-node-pools"}, "spec": {"amiSelectorTerms": terms}}
    problems = checks.check_node_class_ami_pinned(NODE_CLASS, props, require)
    assert (problems == []) == ok, problems
    if not ok:
        assert "EC2NodeClass gpu-node-pools" in problems[0] and "requireDatedAmiAlias" in problems[0]


def test_node_class_ami_check_ignores_other_kinds() -> None:
    assert checks.check_node_class_ami_pinned(DAEMONSET, {"spec": {"amiSelectorTerms": [{"alias": "x@latest"}]}},
                                              True) == []


def test_a_shared_pools_device_plugin_is_allowed_root_by_prefix_for_the_plugin_container_only() -> None:
    plugin = container(name="nvidia-device-plugin-ctr", securityContext={})
    assert checks.check_non_root(*workload(plugin, name="nvidia-device-plugin-inference")) == []
    other = container(name="sidecar", securityContext={})
    assert checks.check_non_root(*workload(other, name="nvidia-device-plugin-inference"))
    assert checks.check_non_root(*workload(plugin, name="some-other-daemonset"))
    assert checks.check_non_root(*workload(other, name="nvidia-mps-control-daemon-inference")) == []
