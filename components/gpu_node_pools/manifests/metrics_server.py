"""metrics-server: the resource metrics API (`kubectl top`, HPA), kept off GPU nodes.

The object set, args, probes and security context are those of kubernetes-sigs/metrics-server `manifests/base`
plus `manifests/components/high-availability` (with the 1.21+ policy/v1 PDB), as rendered from the v0.9.0 module;
v0.8.1 ships the same manifests with its own image (kubespray #13511: "CLI flags, RBAC, and deployment shape
unchanged"). We add limits, the contract's affinity away from GPU nodes, and no GPU toleration.
"""

from __future__ import annotations

from typing import Any

from ..config.image import image_with_digest
from ..config.metrics_server import (
    DEFAULT_METRICS_SERVER_IMAGE,
    MetricsServerConfig,
    metrics_server_image,
)
from ..contract import IsolationContract
from ._pod import container_security_context, pod_security_context

__all__ = [
    "METRICS_SERVER_ARGS",
    "METRICS_SERVER_NAMESPACE",
    "METRICS_SERVER_TMP_SIZE_LIMIT",
    "build_metrics_server",
]

# The APIService and the auth-reader RoleBinding must live in kube-system, so the rest does too (as upstream).
METRICS_SERVER_NAMESPACE = "kube-system"
METRICS_SERVER_ARGS = (
    "--cert-dir=/tmp",
    "--secure-port=10250",
    "--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname",
    "--kubelet-use-node-status-port",
    "--metric-resolution=15s",
)
# The /tmp emptyDir holds only the serving certificate and key.
METRICS_SERVER_TMP_SIZE_LIMIT = "16Mi"

_NAME = "metrics-server"
_SELECTOR = {"k8s-app": _NAME}
_LABELS = {**_SELECTOR, "app.kubernetes.io/part-of": "gpu-node-pools"}
_RUN_AS_USER = 1000  # upstream's uid
_PORT = 10250


def build_metrics_server(
    config: MetricsServerConfig, contract: IsolationContract, *, kubernetes_version: str | None = None
) -> list[dict[str, Any]]:
    """The upstream object set (and HA objects when `ha`); nothing when disabled.

    The image is `config.image` (pinned to `config.image_digest` if given), else the release for
    `kubernetes_version`, else DEFAULT_METRICS_SERVER_IMAGE.
    """
    if not config.enabled:
        return []
    if config.image:
        image = image_with_digest(config.image, config.image_digest)
    elif kubernetes_version:
        image = metrics_server_image(kubernetes_version)
    else:
        image = DEFAULT_METRICS_SERVER_IMAGE
    objects = [
        _object("v1", "ServiceAccount", _NAME),
        *_rbac(),
        _service(),
        _deployment(config, contract, image),
    ]
    if config.ha:
        objects.append(_pod_disruption_budget())
    if config.register_api_service:
        objects.append(_api_service())
    return objects


def _object(api_version: str, kind: str, name: str, *, namespaced: bool = True, **fields: Any) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "labels": dict(_LABELS)}
    if namespaced:
        metadata["namespace"] = METRICS_SERVER_NAMESPACE
    return {"apiVersion": api_version, "kind": kind, "metadata": metadata, **fields}


def _rbac() -> list[dict[str, Any]]:
    rbac = "rbac.authorization.k8s.io/v1"
    subjects = [{"kind": "ServiceAccount", "name": _NAME, "namespace": METRICS_SERVER_NAMESPACE}]

    def role_ref(kind: str, name: str) -> dict[str, str]:
        return {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": name}

    reader = _object(
        rbac,
        "ClusterRole",
        "system:aggregated-metrics-reader",
        namespaced=False,
        rules=[{"apiGroups": ["metrics.k8s.io"], "resources": ["pods", "nodes"], "verbs": ["get", "list", "watch"]}],
    )
    # Grants `kubectl top` to whoever holds view, edit or admin.
    reader["metadata"]["labels"].update(
        {f"rbac.authorization.k8s.io/aggregate-to-{role}": "true" for role in ("view", "edit", "admin")}
    )
    return [
        reader,
        _object(
            rbac,
            "ClusterRole",
            "system:metrics-server",
            namespaced=False,
            rules=[
                {"apiGroups": [""], "resources": ["nodes/metrics"], "verbs": ["get"]},
                {"apiGroups": [""], "resources": ["pods", "nodes"], "verbs": ["get", "list", "watch"]},
            ],
        ),
        _object(
            rbac,
            "RoleBinding",
            "metrics-server-auth-reader",
            roleRef=role_ref("Role", "extension-apiserver-authentication-reader"),
            subjects=subjects,
        ),
        _object(
            rbac,
            "ClusterRoleBinding",
            "metrics-server:system:auth-delegator",
            namespaced=False,
            roleRef=role_ref("ClusterRole", "system:auth-delegator"),
            subjects=subjects,
        ),
        _object(
            rbac,
            "ClusterRoleBinding",
            "system:metrics-server",
            namespaced=False,
            roleRef=role_ref("ClusterRole", "system:metrics-server"),
            subjects=subjects,
        ),
    ]


def _service() -> dict[str, Any]:
    port = {"name": "https", "port": 443, "protocol": "TCP", "targetPort": "https", "appProtocol": "https"}
    return _object("v1", "Service", _NAME, spec={"ports": [port], "selector": dict(_SELECTOR)})


def _args(extra_args: list[str]) -> list[str]:
    """Upstream args, each replaced by an extra arg of the same flag name; other extra args appended."""
    by_flag = {arg.split("=", 1)[0]: arg for arg in METRICS_SERVER_ARGS}
    by_flag.update({arg.split("=", 1)[0]: arg for arg in extra_args})
    return list(by_flag.values())


def _deployment(config: MetricsServerConfig, contract: IsolationContract, image: str) -> dict[str, Any]:
    def probe(path: str, **timing: int) -> dict[str, Any]:
        return {
            "httpGet": {"path": path, "port": "https", "scheme": "HTTPS"},
            "periodSeconds": 10,
            "failureThreshold": 3,
            **timing,
        }

    container = {
        "name": _NAME,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "args": _args(config.extra_args),
        "ports": [{"name": "https", "containerPort": _PORT, "protocol": "TCP"}],
        "readinessProbe": probe("/readyz", initialDelaySeconds=20),
        "livenessProbe": probe("/livez"),
        "resources": config.resources.to_k8s(),
        "securityContext": {**container_security_context(), "runAsUser": _RUN_AS_USER},
        # --cert-dir=/tmp: self-signed serving certs go to a writable emptyDir under a read-only root.
        "volumeMounts": [{"name": "tmp-dir", "mountPath": "/tmp"}],
    }
    # Never the GPU toleration: affinity away from GPU nodes, and the taint keeps it off them too.
    affinity = dict(contract.general_addon_scheduling()["affinity"])
    if config.ha:
        affinity["podAntiAffinity"] = {
            "requiredDuringSchedulingIgnoredDuringExecution": [
                {
                    "labelSelector": {"matchLabels": dict(_SELECTOR)},
                    "namespaces": [METRICS_SERVER_NAMESPACE],
                    "topologyKey": "kubernetes.io/hostname",
                }
            ]
        }
    return _object(
        "apps/v1",
        "Deployment",
        _NAME,
        spec={
            "replicas": 2 if config.ha else 1,
            "selector": {"matchLabels": dict(_SELECTOR)},
            # Upstream: surge first with one replica; with two, one may go while the other serves.
            "strategy": {"rollingUpdate": {"maxUnavailable": 1 if config.ha else 0}},
            "template": {
                "metadata": {"labels": dict(_LABELS)},
                "spec": {
                    "serviceAccountName": _NAME,
                    # Named exception to mounting no token: metrics-server calls the API server (node list,
                    # delegated authentication of the aggregated API's callers) and the kubelets, with this token.
                    "automountServiceAccountToken": True,
                    "priorityClassName": "system-cluster-critical",
                    "securityContext": pod_security_context(run_as_user=_RUN_AS_USER),
                    "nodeSelector": {"kubernetes.io/os": "linux"},
                    "affinity": affinity,
                    "containers": [container],
                    "volumes": [{"name": "tmp-dir", "emptyDir": {"sizeLimit": METRICS_SERVER_TMP_SIZE_LIMIT}}],
                },
            },
        },
    )


def _pod_disruption_budget() -> dict[str, Any]:
    return _object(
        "policy/v1",
        "PodDisruptionBudget",
        _NAME,
        spec={"minAvailable": 1, "selector": {"matchLabels": dict(_SELECTOR)}},
    )


def _api_service() -> dict[str, Any]:
    return _object(
        "apiregistration.k8s.io/v1",
        "APIService",
        "v1beta1.metrics.k8s.io",
        namespaced=False,
        spec={
            "service": {"name": _NAME, "namespace": METRICS_SERVER_NAMESPACE},
            "group": "metrics.k8s.io",
            "version": "v1beta1",
            # Upstream: metrics-server serves a self-signed certificate from --cert-dir.
            "insecureSkipTLSVerify": True,
            "groupPriorityMinimum": 100,
            "versionPriority": 100,
        },
    )
