"""The checks behind the gpu-node-pools policy pack, as pure functions of a resource's type and properties.

Each check returns the violation messages for one resource (empty when it complies), so the pack's policies are
thin adapters and the checks can be tested on plain dicts. Properties are the Pulumi inputs as the engine hands
them to analyzers: Kubernetes field names in camelCase, pulumi-aws names in camelCase.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

__all__ = [
    "DEFAULT_GPU_TAINT",
    "DEFAULT_ROOT_ALLOWED",
    "GPU_RESOURCE",
    "check_gpu_node_group_taint",
    "check_gpu_toleration",
    "check_images_pinned",
    "check_node_class_ami_pinned",
    "check_non_root",
    "check_priority_class_default",
    "check_resources",
    "pod_templates",
]

GPU_RESOURCE = "nvidia.com/gpu"
DEFAULT_GPU_TAINT = {"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}
# Upstream's device plugin runs as root: it writes its socket into the kubelet's root-owned device-plugins folder.
DEFAULT_ROOT_ALLOWED = [{
    "kind": "DaemonSet",
    "name": "nvidia-device-plugin-daemonset",
    "reason": "the NVIDIA device plugin registers a socket in the kubelet's root-owned /var/lib/kubelet/device-plugins",
}, {
    # A shared GPU pool's own device plugin DaemonSet (`nvidia-device-plugin-<pool>`): the same container.
    "kind": "DaemonSet",
    "namePrefix": "nvidia-device-plugin-",
    "container": "nvidia-device-plugin-ctr",
    "reason": "a shared pool's NVIDIA device plugin registers its socket in the kubelet's root-owned folder",
}, {
    # An MPS pool's control daemon (`nvidia-mps-control-daemon-<pool>`): NVIDIA's, privileged upstream too.
    "kind": "DaemonSet",
    "namePrefix": "nvidia-mps-control-daemon-",
    "reason": "NVIDIA's MPS control daemon mounts the MPS shm and starts the MPS server per GPU as root",
}]

K8S = "kubernetes:"
# Where each workload kind keeps its pod spec.
_POD_SPEC_PATHS = {
    "core/v1:Pod": ("spec",),
    "apps/v1:Deployment": ("spec", "template", "spec"),
    "apps/v1:DaemonSet": ("spec", "template", "spec"),
    "apps/v1:StatefulSet": ("spec", "template", "spec"),
    "apps/v1:ReplicaSet": ("spec", "template", "spec"),
    "batch/v1:Job": ("spec", "template", "spec"),
    "batch/v1:CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
# EKS taint effects as the EKS API spells them, keyed by Kubernetes' spelling.
_EKS_EFFECTS = {"NoSchedule": "NO_SCHEDULE", "NoExecute": "NO_EXECUTE", "PreferNoSchedule": "PREFER_NO_SCHEDULE"}
_GPU_INSTANCE_TYPE = re.compile(r"^[gp]\d")  # g4dn, g5, g6e, p4d, p5 ...: the NVIDIA families
_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
_DATED_ALIAS = re.compile(r"^[a-z0-9]+@v\d{8}$")  # al2023@v20260520: one AMI release
_EC2_NODE_CLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"


def _dig(value: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _kind(resource_type: str) -> str:
    return resource_type.rsplit(":", 1)[-1]


def _describe(resource_type: str, props: Mapping[str, Any]) -> str:
    meta = props.get("metadata") if isinstance(props.get("metadata"), Mapping) else {}
    name = "/".join(str(p) for p in (meta.get("namespace"), meta.get("name")) if p)
    return f"{_kind(resource_type)} {name}".strip()


def pod_templates(resource_type: str, props: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """The pod spec of a Kubernetes workload (none for other types or while the spec is unknown)."""
    if not resource_type.startswith(K8S):
        return
    path = _POD_SPEC_PATHS.get(resource_type[len(K8S):])
    spec = _dig(props, path) if path else None
    if isinstance(spec, Mapping):
        yield spec


def _containers(spec: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    for field in ("initContainers", "containers"):
        for container in spec.get(field) or []:
            if isinstance(container, Mapping):
                yield container


def check_resources(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """Every container sets cpu and memory requests and a memory limit."""
    problems = []
    for spec in pod_templates(resource_type, props):
        for container in _containers(spec):
            resources = container.get("resources") or {}
            missing = [f"{part}.{name}" for part, name in (("requests", "cpu"), ("requests", "memory"),
                                                           ("limits", "memory"))
                       if _dig(resources, (part, name)) in (None, "")]
            if missing:
                problems.append(f"{_describe(resource_type, props)}: container '{container.get('name')}' sets no "
                                f"resources.{', resources.'.join(missing)}")
    return problems


def _requests_gpu(spec: Mapping[str, Any]) -> bool:
    return any(GPU_RESOURCE in (_dig(c, ("resources", part)) or {})
               for c in _containers(spec) for part in ("requests", "limits"))


def _tolerates(toleration: Mapping[str, Any], taint: Mapping[str, str]) -> bool:
    """Kubernetes' own rule (k8s.io/api/core/v1 Toleration.ToleratesTaint)."""
    if toleration.get("effect") and toleration["effect"] != taint["effect"]:
        return False
    if toleration.get("key") and toleration["key"] != taint["key"]:
        return False
    if toleration.get("operator") == "Exists":
        return True
    # An empty key only goes with Exists; Equal (the default) also compares the value.
    return bool(toleration.get("key")) and toleration.get("value", "") == taint["value"]


def check_gpu_toleration(resource_type: str, props: Mapping[str, Any],
                         taint: Mapping[str, str] = DEFAULT_GPU_TAINT) -> list[str]:
    """A pod template that requests nvidia.com/gpu tolerates the GPU taint."""
    problems = []
    for spec in pod_templates(resource_type, props):
        tolerations = [t for t in spec.get("tolerations") or [] if isinstance(t, Mapping)]
        if _requests_gpu(spec) and not any(_tolerates(t, taint) for t in tolerations):
            problems.append(
                f"{_describe(resource_type, props)} requests {GPU_RESOURCE} but does not tolerate the GPU taint "
                f"{taint['key']}={taint['value']}:{taint['effect']}, so it can never schedule on a GPU node; add "
                f"{{key: {taint['key']}, operator: Exists, effect: {taint['effect']}}}")
    return problems


def _image_problem(image: str, require_digest: bool) -> str | None:
    if require_digest:
        if _DIGEST.search(image):
            return None
        # A tag can be moved to other bits; only a digest names them.
        return ("has no sha256 digest, which this policy's requireImageDigests demands; pin it as "
                "repo:tag@sha256:<digest> (`crane digest repo:tag` prints it)")
    if "@sha256:" in image:
        return None
    last = image.rsplit("/", 1)[-1]  # a registry port (host:5000/...) is not a tag
    if ":" not in last:
        return "has no tag; pin a version tag or a digest"
    if last.rsplit(":", 1)[1] == "latest":
        return "uses the mutable tag 'latest'; pin a version tag or a digest"
    return None


def check_images_pinned(resource_type: str, props: Mapping[str, Any], require_digests: bool = False) -> list[str]:
    """Images carry a tag other than latest, or a digest; with `require_digests`, a digest."""
    problems = []
    for spec in pod_templates(resource_type, props):
        for container in _containers(spec):
            image = container.get("image")
            if isinstance(image, str) and (problem := _image_problem(image, require_digests)):
                problems.append(f"{_describe(resource_type, props)}: container '{container.get('name')}' image "
                                f"'{image}' {problem}")
    return problems


def _allowed_root(resource_type: str, props: Mapping[str, Any], container: str,
                  allowed: list[Mapping[str, Any]]) -> bool:
    meta = props.get("metadata") or {}
    for entry in allowed:
        name = str(meta.get("name") or "")
        named = entry.get("name") == name or ("namePrefix" in entry and name.startswith(entry["namePrefix"]))
        if (entry.get("kind") == _kind(resource_type) and named
                and entry.get("namespace") in (None, meta.get("namespace"))
                and entry.get("container") in (None, container) and entry.get("reason")):
            return True
    return False


def check_non_root(resource_type: str, props: Mapping[str, Any],
                   allowed: list[Mapping[str, Any]] = DEFAULT_ROOT_ALLOWED) -> list[str]:
    """Containers run as non-root (runAsNonRoot, or a non-zero runAsUser) unless allow-listed with a reason."""
    problems = []
    for spec in pod_templates(resource_type, props):
        pod = spec.get("securityContext") or {}
        for container in _containers(spec):
            own = container.get("securityContext") or {}
            # The container's securityContext overrides the pod's, field by field.
            user = own.get("runAsUser", pod.get("runAsUser"))
            non_root = own.get("runAsNonRoot", pod.get("runAsNonRoot"))
            if user == 0 or not (non_root is True or (isinstance(user, int) and user > 0)):
                name = container.get("name")
                if not _allowed_root(resource_type, props, name, allowed):
                    problems.append(
                        f"{_describe(resource_type, props)}: container '{name}' may run as root; set "
                        "securityContext.runAsNonRoot: true (or a non-zero runAsUser), or allow-list it with a "
                        "reason in this policy's `allowed` config")
    return problems


def check_gpu_node_group_taint(resource_type: str, props: Mapping[str, Any],
                               taint: Mapping[str, str] = DEFAULT_GPU_TAINT) -> list[str]:
    """An EKS node group of GPU instances (an NVIDIA AMI, g*/p* instance types or the GPU label) carries the
    GPU taint."""
    if resource_type != "aws:eks/nodeGroup:NodeGroup":
        return []
    ami = str(props.get("amiType") or "")
    types = [t for t in props.get("instanceTypes") or [] if isinstance(t, str)]
    labels = props.get("labels") or {}
    is_gpu = ("NVIDIA" in ami or "GPU" in ami
              or any(_GPU_INSTANCE_TYPE.match(t) for t in types)
              or labels.get("nvidia.com/gpu.present") == "true")
    if not is_gpu:
        return []
    effect = _EKS_EFFECTS.get(taint["effect"], taint["effect"])
    for t in props.get("taints") or []:
        if isinstance(t, Mapping) and t.get("key") == taint["key"] and t.get("effect") == effect:
            return []
    name = props.get("nodeGroupName") or props.get("nodeGroupNamePrefix") or ""
    return [f"EKS node group {name} has GPU instances ({ami or ', '.join(types)}) but no "
            f"{taint['key']}:{effect} taint, so any pod can land on (and hold) its GPU nodes"]


def check_priority_class_default(resource_type: str, props: Mapping[str, Any],
                                 allowed: list[str] = ()) -> list[str]:
    """No PriorityClass is globalDefault unless its name is configured as the intended default."""
    if not resource_type.startswith(K8S) or not resource_type.endswith(":PriorityClass"):
        return []
    name = _dig(props, ("metadata", "name"))
    if props.get("globalDefault") is True and name not in allowed:
        return [f"PriorityClass {name} is globalDefault, which gives every pod without a priorityClassName its "
                "priority; set globalDefault: false, or name it in this policy's `allowedGlobalDefaults` config "
                "if that is intended"]
    return []


def check_node_class_ami_pinned(resource_type: str, props: Mapping[str, Any], require_dated_alias: bool = False) -> list[str]:
    """With `require_dated_alias`, a Karpenter EC2NodeClass selects one AMI release: an alias with a date
    (`al2023@v20260520`) or an AMI id, never `@latest`, a name or tags (which follow new images as they appear)."""
    if resource_type != _EC2_NODE_CLASS or not require_dated_alias:
        return []
    terms = _dig(props, ("spec", "amiSelectorTerms"))
    if not isinstance(terms, list):
        return []
    problems = []
    for term in terms:
        if not isinstance(term, Mapping):
            continue
        alias = term.get("alias")
        if isinstance(alias, str) and _DATED_ALIAS.match(alias):
            continue
        if alias is None and term.get("id"):
            continue
        shown = alias if alias is not None else ", ".join(f"{k}: {v}" for k, v in term.items())
        problems.append(
            f"{_describe(resource_type, props)} selects AMIs by '{shown}', which moves to new images as they are "
            "published (node replacements roll a new OS onto GPU nodes unreviewed); this policy's "
            "requireDatedAmiAlias demands one release: an alias like al2023@v20260520, or an AMI id")
    return problems
