"""Small builders for the pods and controllers the proofs submit, and readers of what the scheduler did."""

from __future__ import annotations

from typing import Any

from kubernetes import client

from gnp_cluster import AppliedLayer, LocalCluster, wait_for

GPU = "nvidia.com/gpu"
GPU_PRESENT = "nvidia.com/gpu.present"
# kwok never pulls it; any pinned image would do.
IMAGE = "registry.k8s.io/pause:3.10"

__all__ = [
    "GPU",
    "GPU_PRESENT",
    "affinity_admits",
    "agent_daemonset",
    "agent_prefix",
    "deployment",
    "gpu_tolerations",
    "pending_message",
    "pod",
    "restricted_container",
    "running_agent_pod",
]


def restricted_container(name: str = "main", resources: dict[str, Any] | None = None) -> dict[str, Any]:
    """A container that Pod Security Admission's `restricted` level admits."""
    container: dict[str, Any] = {
        "name": name,
        "image": IMAGE,
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "runAsNonRoot": True,
            "runAsUser": 65532,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
    }
    if resources is not None:
        container["resources"] = resources
    return container


def gpu_tolerations(gpu_nodes: list[client.V1Node]) -> list[dict[str, Any]]:
    """Tolerations for every taint the GPU nodes carry, by key with `Exists`, as the isolation contract does."""
    keys = {(t.key, t.effect) for node in gpu_nodes for t in (node.spec.taints or [])}
    return [{"key": key, "operator": "Exists", "effect": effect} for key, effect in sorted(keys)]


def pod_spec(
    *,
    requests: dict[str, str] | None = None,
    tolerations: list[dict[str, Any]] | None = None,
    priority_class: str | None = None,
    node_selector: dict[str, str] | None = None,
) -> dict[str, Any]:
    resources = {"requests": dict(requests or {}), "limits": {}}
    # Extended resources (nvidia.com/gpu, nvidia.com/mig-<profile>) need limit == request.
    resources["limits"].update({k: v for k, v in (requests or {}).items() if k.startswith("nvidia.com/")})
    spec: dict[str, Any] = {
        "containers": [restricted_container(resources=resources)],
        "terminationGracePeriodSeconds": 0,
    }
    if tolerations:
        spec["tolerations"] = tolerations
    if priority_class:
        spec["priorityClassName"] = priority_class
    if node_selector:
        spec["nodeSelector"] = node_selector
    return spec


def pod(name: str, labels: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels or {"app": name}},
        "spec": pod_spec(**spec),
    }


def deployment(name: str, replicas: int, **spec: Any) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": pod_spec(**spec)},
        },
    }


def pending_message(pod_: client.V1Pod) -> str | None:
    """The scheduler's reason for an unschedulable pod, or None when it is not (yet) marked unschedulable."""
    for condition in pod_.status.conditions or []:
        if condition.type == "PodScheduled" and condition.status == "False" and condition.reason == "Unschedulable":
            return condition.message or ""
    return None


def agent_daemonset(layer: AppliedLayer) -> dict[str, Any]:
    found = [d for d in layer.of_kind("DaemonSet") if d["metadata"]["name"] == "gpu-node-agent"]
    assert found, "the local layer has no gpu-node-agent DaemonSet"
    return found[0]


def agent_prefix(daemonset: dict[str, Any]) -> str:
    [container] = daemonset["spec"]["template"]["spec"]["containers"]
    return next(e["value"] for e in container["env"] if e["name"] == "GPU_NODE_AGENT_PREFIX")


def running_agent_pod(cluster: LocalCluster, daemonset: dict[str, Any]) -> client.V1Pod:
    selector = ",".join(f"{k}={v}" for k, v in daemonset["spec"]["selector"]["matchLabels"].items())
    namespace = daemonset["metadata"]["namespace"]
    return wait_for(
        lambda: next((p for p in cluster.pods(namespace, selector) if p.status.phase == "Running"), None),
        120, "a running node-agent pod",
    )


def affinity_admits(obj: dict[str, Any], labels: dict[str, str]) -> bool:
    """Whether a workload's required node affinity admits a node with `labels` (the scheduler's rule: any term, all
    of its expressions). Several device plugin DaemonSets split the GPU nodes between them by a label."""
    required = (obj["spec"]["template"]["spec"].get("affinity", {}).get("nodeAffinity", {})
                .get("requiredDuringSchedulingIgnoredDuringExecution"))
    if not required:
        return True

    def holds(expression: dict[str, Any]) -> bool:
        key, operator, values = expression["key"], expression["operator"], expression.get("values", [])
        return {"In": lambda: labels.get(key) in values, "NotIn": lambda: labels.get(key) not in values,
                "Exists": lambda: key in labels, "DoesNotExist": lambda: key not in labels}[operator]()

    return any(all(holds(e) for e in term.get("matchExpressions", [])) for term in required["nodeSelectorTerms"])
