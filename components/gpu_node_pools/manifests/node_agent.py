"""The NVML node agent (`node-agent/`): a DaemonSet on GPU nodes that labels its own Node and serves metrics.

Least privilege in four layers:
- RBAC: `get` and `patch` on nodes (cluster-wide, as RBAC can't scope a verb to "my node"), and its Leases in
  its own namespace;
- a ValidatingAdmissionPolicy: this service account may change only labels under its prefix, only on the
  node named in its pod-bound token (`authentication.kubernetes.io/node-name`, Kubernetes >= 1.32), and nothing
  else of the Node; its Leases must be named after that same node;
- the pod: non-root, read-only root, no capabilities, seccomp RuntimeDefault, a short-lived projected token;
- the network: only the scraping namespaces (`metricsScrapers`) reach its metrics port.

NVML needs the driver's device nodes and library, which the NVIDIA container runtime injects when the pod runs
under it (the node default on EKS' NVIDIA AMIs, or a RuntimeClass) with `NVIDIA_VISIBLE_DEVICES`; the device
nodes are world-readable, so no root is needed.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field, field_validator, model_validator

from ..config._model import ConfigModel
from ..config.labels import RESERVED_LABEL_DOMAINS
from ..contract import GPU_PRESENT_LABEL, POOL_LABEL, IsolationContract
from ._fields import ContainerResources, DnsLabel, TolerationConfig
from ._image import ImageRepository, PinnedImage, image_repository
from ._pod import container_security_context, pod_security_context

__all__ = [
    "DEFAULT_METRICS_SCRAPERS",
    "DEFAULT_NODE_AGENT_NAMESPACE",
    "DEFAULT_NODE_AGENT_PORT",
    "DEFAULT_NODE_AGENT_PREFIX",
    "DEFAULT_NODE_AGENT_RESOURCES",
    "GFD_LABEL_KEYS",
    "NODE_AGENT_IMAGE_REQUIRED",
    "NODE_AGENT_NAME",
    "NODE_NAME_CLAIM",
    "NodeAgentConfig",
    "build_node_agent",
    "node_agent_service_account",
]

NODE_AGENT_NAME = "gpu-node-agent"
NODE_AGENT_READER_ROLE = "gpu-node-agent-reader"
# No image is published for you, so there is no default: a made-up one would leave the DaemonSet in
# ImagePullBackOff and `pulumi up` waiting for it (PlatformConfig reports the missing key).
NODE_AGENT_IMAGE_REQUIRED = (
    "required while the node agent is enabled, as no agent image is published: build it (`make image`), push it "
    "to a registry your nodes pull from (`make image-push STACK=<stack>` with nodeAgent.pushRepository set, or "
    ".github/workflows/node-agent-image.yml; docs/node-agent.md, Image) and set this key to the "
    "repo:tag@sha256:<digest> the push prints; or set nodeAgent.enabled: false"
)
DEFAULT_NODE_AGENT_NAMESPACE = "gpu-node-agent"
DEFAULT_NODE_AGENT_PREFIX = "node-agent.gpu-node-pools.io/"
DEFAULT_NODE_AGENT_PORT = 9402
DEFAULT_NODE_AGENT_INTERVAL_SECONDS = 15
DEFAULT_NODE_AGENT_SETTLE_SECONDS = 60  # the agent's own default (gpu_node_agent.policy)
DEFAULT_NODE_AGENT_MIN_WRITE_INTERVAL_SECONDS = 30
# Namespaces whose pods may scrape the metrics port (kube-prometheus and most charts install into `monitoring`).
DEFAULT_METRICS_SCRAPERS = ("monitoring",)
# Measured steady RSS of `gpu-node-agent run` is about 40 MiB (benchmarks/RESULTS.md); the limit leaves headroom.
DEFAULT_NODE_AGENT_RESOURCES = ContainerResources(cpu="20m", memory="64Mi", cpu_limit="200m", memory_limit="128Mi")
# The keys `gfdLabels` adds, exactly as GPU Feature Discovery writes them.
GFD_LABEL_KEYS = ("nvidia.com/gpu.product", "nvidia.com/gpu.count", "nvidia.com/gpu.memory")
# Set by the API server on pod-bound service-account tokens (GA in Kubernetes 1.32).
NODE_NAME_CLAIM = "authentication.kubernetes.io/node-name"
# Mirrors the kubelet's default token lifetime for projected tokens; the agent re-reads the file on rotation.
_TOKEN_EXPIRATION_SECONDS = 3607
_TOKEN_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
# The kubelet's pod-resources API: its socket is created by the (root) kubelet, owner-writable only.
POD_RESOURCES_DIR = "/var/lib/kubelet/pod-resources"
_LABELS = {"app.kubernetes.io/name": NODE_AGENT_NAME, "app.kubernetes.io/part-of": "gpu-node-pools"}
_SELECTOR = {"app.kubernetes.io/name": NODE_AGENT_NAME}
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
# Label domains that belong to someone else: our node groups' pool labels, and GFD's.
_TAKEN_DOMAINS = (POOL_LABEL.split("/")[0], GPU_PRESENT_LABEL.split("/")[0])


class NodeAgentConfig(ConfigModel):
    """The stack file's `nodeAgent` key."""

    enabled: bool = Field(default=True, description="deploy the node agent")
    namespace: DnsLabel = Field(default=DEFAULT_NODE_AGENT_NAMESPACE, description="namespace the agent owns")
    image: PinnedImage | None = Field(
        default=None,
        description="required when enabled, unless imageBuild is set (none is published): the image `make image` "
        "built and you pushed, as `repo:tag`, `repo@sha256:...` or `repo:tag@sha256:...`",
    )
    image_build: str | None = Field(
        default=None,
        min_length=1,
        description="instead of image, where the cluster is not EKS: the folder `make image` builds into "
        "(`build/image`, relative to the project folder, or absolute); the agent runs the image built there, "
        "`gpu-node-agent:<its version>@<its digest>`, which this project's stack program and `render` read from it",
    )
    push_repository: ImageRepository | None = Field(
        default=None,
        description="where `make image-push STACK=<stack>` pushes the image `make image` built (registry host and "
        "path, no tag); it prints the `image` value to set. When both are set, `image` must name this repository",
    )
    prefix: str = Field(
        default=DEFAULT_NODE_AGENT_PREFIX,
        description="label prefix the agent owns on its node (a DNS subdomain and '/'); nothing outside it is touched",
    )
    interval_seconds: int = Field(
        default=DEFAULT_NODE_AGENT_INTERVAL_SECONDS, ge=1, description="seconds between reads"
    )
    settle_seconds: int = Field(
        default=DEFAULT_NODE_AGENT_SETTLE_SECONDS,
        ge=0,
        description="how long a new live bucket must hold before it is written",
    )
    min_write_interval_seconds: int = Field(
        default=DEFAULT_NODE_AGENT_MIN_WRITE_INTERVAL_SECONDS, ge=0, description="minimum seconds between label writes"
    )
    port: int = Field(
        default=DEFAULT_NODE_AGENT_PORT, ge=1024, le=65535, description="metrics port (non-root: >= 1024)"
    )
    metrics_scrapers: list[DnsLabel] = Field(
        default_factory=lambda: list(DEFAULT_METRICS_SCRAPERS),
        description="namespaces whose pods may reach the metrics port (a NetworkPolicy); [] admits none",
    )
    gfd_labels: bool = Field(
        default=False, description="also write nvidia.com/gpu.product|count|memory, for clusters without GFD"
    )
    pod_resources: bool = Field(
        default=False,
        description="add pod/namespace/container labels to per-GPU metrics from the kubelet pod-resources API; "
        "runs the agent as root with a read-only hostPath and drops the namespace's enforced Pod Security level "
        "to privileged (warn/audit stay restricted); the image needs the gpu-node-agent[pod-resources] extra",
    )
    # EKS' NVIDIA AMIs (AL2023, Bottlerocket) make the NVIDIA runtime containerd's default and create no
    # RuntimeClass; a pod naming a RuntimeClass that doesn't exist is rejected at admission. So none by default.
    runtime_class_name: DnsLabel | None = Field(
        default=None,
        description="RuntimeClass of the NVIDIA runtime (`nvidia` with the GPU Operator); null: the node default",
    )
    nvidia_visible_devices: str = Field(default="all", description="NVIDIA_VISIBLE_DEVICES: the GPUs NVML sees")
    nvidia_driver_capabilities: str = Field(
        default="utility", description="NVIDIA_DRIVER_CAPABILITIES: `utility` is all NVML needs"
    )
    resources: ContainerResources = Field(default=DEFAULT_NODE_AGENT_RESOURCES, description="requests and limits")
    extra_tolerations: list[TolerationConfig] = Field(
        default_factory=list, description="for other taints the GPU pools carry (e.g. a spot taint)"
    )

    @model_validator(mode="after")
    def _one_image_source(self) -> NodeAgentConfig:
        if self.image and self.image_build:
            raise ValueError("set image or imageBuild, not both: each names the image the agent runs")
        return self

    @model_validator(mode="after")
    def _image_in_push_repository(self) -> NodeAgentConfig:
        if self.image and self.push_repository and image_repository(self.image) != self.push_repository:
            raise ValueError(
                f"image {self.image!r} is not in pushRepository {self.push_repository!r}: the nodes would run an "
                "image other than the one `make image-push` pushes; name the pushed image, or change pushRepository"
            )
        return self

    @field_validator("prefix")
    @classmethod
    def _own_prefix(cls, prefix: str) -> str:
        domain = prefix.removesuffix("/")
        if not prefix.endswith("/") or len(domain) > 253 or not _DNS_SUBDOMAIN.match(domain):
            raise ValueError(f"prefix {prefix!r} must be a lowercase DNS subdomain followed by '/'")
        if any(domain == d or domain.endswith("." + d) for d in RESERVED_LABEL_DOMAINS):
            raise ValueError(f"prefix {prefix!r}: kubernetes.io/ and k8s.io/ are reserved for Kubernetes")
        if domain in _TAKEN_DOMAINS:
            raise ValueError(f"prefix {prefix!r} holds labels the agent must not own; use a subdomain of your own")
        return prefix


def node_agent_service_account(config: NodeAgentConfig) -> str:
    """The agent's user name as the API server sees it."""
    return f"system:serviceaccount:{config.namespace}:{NODE_AGENT_NAME}"


def build_node_agent(config: NodeAgentConfig, contract: IsolationContract) -> list[dict[str, Any]]:
    """Every object the agent needs, in apply order; nothing when disabled."""
    if not config.enabled:
        return []
    if config.image is None and config.image_build is not None:
        # Only the stack program and the CLI know the project folder it is relative to (resolve_image_build).
        raise ValueError(f"nodeAgent.imageBuild {config.image_build!r} is not resolved here: set nodeAgent.image")
    if config.image is None:
        raise ValueError(f"nodeAgent.image: {NODE_AGENT_IMAGE_REQUIRED}")
    return [
        _namespace(config),
        _service_account(config),
        *_node_rbac(config),
        *_lease_rbac(config),
        _reader_role(),
        _node_label_policy(config),
        _binding(f"{NODE_AGENT_NAME}-node-labels"),
        _lease_policy(config),
        _binding(f"{NODE_AGENT_NAME}-leases"),
        _metrics_network_policy(config),
        _daemonset(config, contract, config.image),
        _service(config),
    ]


def _meta(name: str, namespace: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": dict(_LABELS)}
    if namespace is not None:
        meta["namespace"] = namespace
    return meta


def _namespace(config: NodeAgentConfig) -> dict[str, Any]:
    meta = _meta(config.namespace)
    labels = meta["labels"]
    # The agent meets the restricted Pod Security level: enforce it, so nothing laxer lands beside it.
    labels["pod-security.kubernetes.io/enforce"] = "restricted"
    if config.pod_resources:
        # Exception (podResources only): a hostPath volume is forbidden by both baseline and restricted, so the
        # only level that admits the agent is privileged. The namespace holds the agent alone and only cluster
        # admins create pods in it; warn and audit stay restricted, so every apply and the audit log still name
        # what the agent does beyond restricted (hostPath, runAsUser 0) and anything else that would.
        labels["pod-security.kubernetes.io/enforce"] = "privileged"
        labels["pod-security.kubernetes.io/warn"] = "restricted"
        labels["pod-security.kubernetes.io/audit"] = "restricted"
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": meta}


def _service_account(config: NodeAgentConfig) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": _meta(NODE_AGENT_NAME, config.namespace),
        # The DaemonSet mounts its own projected token; no pod gets one by accident.
        "automountServiceAccountToken": False,
    }


def _subject(config: NodeAgentConfig) -> list[dict[str, str]]:
    return [{"kind": "ServiceAccount", "name": NODE_AGENT_NAME, "namespace": config.namespace}]


def _node_rbac(config: NodeAgentConfig) -> list[dict[str, Any]]:
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": _meta(NODE_AGENT_NAME),
        "rules": [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "patch"]}],
    }
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": _meta(NODE_AGENT_NAME),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": NODE_AGENT_NAME},
        "subjects": _subject(config),
    }
    return [role, binding]


def _lease_rbac(config: NodeAgentConfig) -> list[dict[str, Any]]:
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": _meta(NODE_AGENT_NAME, config.namespace),
        # Server-side apply of the heartbeat creates the Lease once, then patches it.
        "rules": [{"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["get", "create", "patch"]}],
    }
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": _meta(NODE_AGENT_NAME, config.namespace),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": NODE_AGENT_NAME},
        "subjects": _subject(config),
    }
    return [role, binding]


def _reader_role() -> dict[str, Any]:
    """For humans running `gpu-node-agent cluster`; bind it to whom you choose (nothing is bound here)."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": _meta(NODE_AGENT_READER_ROLE),
        "rules": [
            {"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list", "watch"]},
            {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["get", "list", "watch"]},
        ],
    }


def _cel_string(value: str) -> str:
    # Prefixes and label keys hold no quotes or backslashes (validated), so single quotes suffice.
    return f"'{value}'"


def _owned(config: NodeAgentConfig, key: str) -> str:
    """CEL: `key` is one the agent may set or remove."""
    test = f"{key}.startsWith({_cel_string(config.prefix)})"
    if config.gfd_labels:
        test += f" || {key} in [{', '.join(_cel_string(k) for k in GFD_LABEL_KEYS)}]"
    return f"({test})"


def _unchanged(path: str) -> str:
    """CEL: an optional field of the Node is the same before and after."""
    return f"has(object.{path}) == has(oldObject.{path}) && (!has(object.{path}) || object.{path} == oldObject.{path})"


_TOKEN_NODE = f"request.userInfo.extra[{_cel_string(NODE_NAME_CLAIM)}]"
_HAS_TOKEN_NODE = (
    f"has(request.userInfo.extra) && {_cel_string(NODE_NAME_CLAIM)} in request.userInfo.extra && "
    f"{_TOKEN_NODE}.size() == 1"
)


def _match_agent(config: NodeAgentConfig) -> list[dict[str, str]]:
    return [
        {
            "name": "is-gpu-node-agent",
            "expression": f"request.userInfo.username == {_cel_string(node_agent_service_account(config))}",
        }
    ]


def _node_label_policy(config: NodeAgentConfig) -> dict[str, Any]:
    owned_new = _owned(config, "k")
    validations = [
        {"expression": "request.operation == 'UPDATE'", "message": "the node agent may only update Nodes"},
        {
            "expression": f"{_HAS_TOKEN_NODE} && object.metadata.name == {_TOKEN_NODE}[0]",
            "message": "the node agent may only change the Node its pod runs on (pod-bound token node-name)",
        },
        {
            # Every label outside our keys keeps its value ...
            "expression": "!has(object.metadata.labels) || object.metadata.labels.all(k, "
            f"{owned_new} || (has(oldObject.metadata.labels) && k in oldObject.metadata.labels && "
            "oldObject.metadata.labels[k] == object.metadata.labels[k]))",
            "message": f"the node agent may only set labels under {config.prefix}",
        },
        {
            # ... and none of them disappears.
            "expression": "!has(oldObject.metadata.labels) || oldObject.metadata.labels.all(k, "
            f"{owned_new} || (has(object.metadata.labels) && k in object.metadata.labels))",
            "message": f"the node agent may only remove labels under {config.prefix}",
        },
        *(
            {"expression": _unchanged(path), "message": f"the node agent may not change {path}"}
            for path in (
                "metadata.annotations",
                "metadata.finalizers",
                "metadata.ownerReferences",
                "spec",
                "status",
            )
        ),
    ]
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": _meta(f"{NODE_AGENT_NAME}-node-labels"),
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {
                "resourceRules": [
                    {
                        "apiGroups": [""],
                        "apiVersions": ["*"],
                        "operations": ["CREATE", "UPDATE", "DELETE"],
                        "resources": ["nodes", "nodes/status"],
                    }
                ]
            },
            "matchConditions": _match_agent(config),
            "validations": validations,
        },
    }


def _lease_policy(config: NodeAgentConfig) -> dict[str, Any]:
    """The agent's heartbeat Leases live in its namespace and are named after the node in its token."""
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": _meta(f"{NODE_AGENT_NAME}-leases"),
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {
                "resourceRules": [
                    {
                        "apiGroups": ["coordination.k8s.io"],
                        "apiVersions": ["*"],
                        "operations": ["CREATE", "UPDATE", "DELETE"],
                        "resources": ["leases"],
                    }
                ]
            },
            "matchConditions": _match_agent(config),
            "validations": [
                {
                    "expression": f"request.operation != 'DELETE' && {_HAS_TOKEN_NODE} && "
                    f"request.namespace == {_cel_string(config.namespace)} && "
                    f"object.metadata.name == {_TOKEN_NODE}[0]",
                    "message": "the node agent may only write the Lease named after its own node, in its namespace",
                }
            ],
        },
    }


def _binding(policy: str) -> dict[str, Any]:
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": _meta(policy),
        "spec": {"policyName": policy, "validationActions": ["Deny"]},
    }


def _env(config: NodeAgentConfig) -> list[dict[str, Any]]:
    def field(name: str, path: str) -> dict[str, Any]:
        return {"name": name, "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": path}}}

    plain = {
        "GPU_NODE_AGENT_PORT": str(config.port),
        "GPU_NODE_AGENT_INTERVAL": str(config.interval_seconds),
        "GPU_NODE_AGENT_PREFIX": config.prefix,
        "GPU_NODE_AGENT_GFD_LABELS": str(config.gfd_labels).lower(),
        "GPU_NODE_AGENT_SETTLE_SECONDS": str(config.settle_seconds),
        "GPU_NODE_AGENT_MIN_WRITE_INTERVAL": str(config.min_write_interval_seconds),
        # Read by the NVIDIA container runtime, not the agent: which GPUs to inject, and only NVML's library.
        "NVIDIA_VISIBLE_DEVICES": config.nvidia_visible_devices,
        "NVIDIA_DRIVER_CAPABILITIES": config.nvidia_driver_capabilities,
    }
    if config.pod_resources:
        plain["GPU_NODE_AGENT_POD_RESOURCES"] = "true"
    return [
        field("NODE_NAME", "spec.nodeName"),
        field("POD_NAMESPACE", "metadata.namespace"),
        *({"name": name, "value": value} for name, value in plain.items()),
    ]


def _token_volume() -> dict[str, Any]:
    """The default service-account volume, spelled out: a pod-bound, expiring token, rotated by the kubelet."""
    return {
        "name": "kube-api-access",
        "projected": {
            "defaultMode": 0o444,
            "sources": [
                {"serviceAccountToken": {"path": "token", "expirationSeconds": _TOKEN_EXPIRATION_SECONDS}},
                {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {
                    "downwardAPI": {
                        "items": [
                            {"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}
                        ]
                    }
                },
            ],
        },
    }


def _metrics_network_policy(config: NodeAgentConfig) -> dict[str, Any]:
    """Only the scrapers' namespaces reach the metrics port; nothing else reaches the pod.

    The agent runs on the pod network (no hostNetwork), so the policy applies to it. The kubelet's probes come
    from the node, which NetworkPolicy always admits. Egress (to the API server) is left open.
    """
    ingress: list[dict[str, Any]] = []
    if config.metrics_scrapers:
        scrapers = {"key": "kubernetes.io/metadata.name", "operator": "In", "values": list(config.metrics_scrapers)}
        ingress.append(
            {
                "from": [{"namespaceSelector": {"matchExpressions": [scrapers]}}],
                "ports": [{"protocol": "TCP", "port": config.port}],
            }
        )
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _meta(f"{NODE_AGENT_NAME}-metrics", config.namespace),
        "spec": {"podSelector": {"matchLabels": dict(_SELECTOR)}, "policyTypes": ["Ingress"], "ingress": ingress},
    }


def _daemonset(config: NodeAgentConfig, contract: IsolationContract, image: str) -> dict[str, Any]:
    probe = {"httpGet": {"path": "/healthz", "port": "metrics"}, "periodSeconds": 20, "timeoutSeconds": 5}
    mounts = [{"name": "kube-api-access", "mountPath": _TOKEN_DIR, "readOnly": True}]
    container: dict[str, Any] = {
        "name": NODE_AGENT_NAME,
        "image": image,
        "args": ["run"],
        "env": _env(config),
        "ports": [{"name": "metrics", "containerPort": config.port, "protocol": "TCP"}],
        "readinessProbe": probe,
        "livenessProbe": {**probe, "failureThreshold": 3, "initialDelaySeconds": 10},
        "securityContext": container_security_context(),
        "resources": config.resources.to_k8s(),
        "volumeMounts": mounts,
    }
    volumes = [_token_volume()]
    pod_context = pod_security_context()
    if config.pod_resources:
        # Exception (podResources only): the kubelet's socket is root-owned and writable by its owner alone, and
        # connect() needs write permission, so the agent runs as uid 0. Root here holds no capabilities (drop ALL,
        # so no DAC override: it reaches the socket as its owner), cannot escalate, keeps the read-only root
        # filesystem and RuntimeDefault seccomp, and sees one host directory, read-only.
        container["securityContext"] = container_security_context(run_as_non_root=False)
        pod_context = {**pod_security_context(run_as_user=None), "runAsUser": 0, "runAsGroup": 0}
        mounts.append({"name": "pod-resources", "mountPath": POD_RESOURCES_DIR, "readOnly": True})
        volumes.append({"name": "pod-resources", "hostPath": {"path": POD_RESOURCES_DIR, "type": "Directory"}})
    scheduling = contract.gpu_daemon_scheduling()
    pod_spec: dict[str, Any] = {
        "serviceAccountName": NODE_AGENT_NAME,
        "automountServiceAccountToken": False,
        # Not system-node-critical: the node works without its observer, and under pressure the pods it does need
        # (CNI, kube-proxy, the device plugin) must win. Not a user class either: workloads could then preempt it
        # off exactly the busy GPU nodes it reports on. It is scheduled as its node starts, so it rarely preempts.
        "priorityClassName": "system-cluster-critical",
        "securityContext": pod_context,
        "tolerations": [*scheduling["tolerations"], *(t.to_k8s() for t in config.extra_tolerations)],
        "affinity": scheduling["affinity"],
        "containers": [container],
        "volumes": volumes,
    }
    if config.runtime_class_name:
        pod_spec["runtimeClassName"] = config.runtime_class_name
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": _meta(NODE_AGENT_NAME, config.namespace),
        "spec": {
            "selector": {"matchLabels": dict(_SELECTOR)},
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "10%"}},
            "template": {"metadata": {"labels": {**_SELECTOR, **_LABELS}}, "spec": pod_spec},
        },
    }


def _service(config: NodeAgentConfig) -> dict[str, Any]:
    """Headless: Prometheus scrapes every agent pod, not one behind a virtual IP."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(NODE_AGENT_NAME, config.namespace),
        "spec": {
            "clusterIP": "None",
            "selector": dict(_SELECTOR),
            "ports": [{"name": "metrics", "port": config.port, "targetPort": "metrics", "protocol": "TCP"}],
        },
    }
