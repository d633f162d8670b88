"""The agent's DaemonSet on GPU nodes, and the namespace whose Pod Security level it meets.

The pod: non-root, read-only root, no capabilities, seccomp RuntimeDefault, a short-lived projected token. NVML
needs the driver's device nodes and library, which the NVIDIA container runtime injects when the pod runs under
it (the node default on EKS' NVIDIA AMIs, or a RuntimeClass) and asks for GPUs; the device nodes are
world-readable, so no root is needed. It asks through `NVIDIA_VISIBLE_DEVICES` (`envvar`), or, where the runtime
ignores that variable in unprivileged containers (Bottlerocket, so EKS Auto Mode), through the device plugin's
other channel (`volume-mounts`, see `_device_list_mounts`).
"""

from __future__ import annotations

from typing import Any

from ...config.node_agent import NODE_AGENT_NAME, DeviceListStrategy, NodeAgentConfig
from ...contract import IsolationContract
from .._pod import container_security_context, pod_security_context
from ._meta import LABELS, SELECTOR, meta

__all__ = ["POD_RESOURCES_DIR", "daemonset", "namespace"]

# Mirrors the kubelet's default token lifetime for projected tokens; the agent re-reads the file on rotation.
_TOKEN_EXPIRATION_SECONDS = 3607
_TOKEN_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
# The kubelet's pod-resources API: its socket is created by the (root) kubelet, owner-writable only.
POD_RESOURCES_DIR = "/var/lib/kubelet/pod-resources"
# Where the NVIDIA container toolkit reads device requests made as mounts of the host's /dev/null (the device
# plugin's `volume-mounts` strategy): one mount per device, named by the path's last part (`all` for every GPU).
_DEVICE_LIST_MOUNT_ROOT = "/var/run/nvidia-container-devices"
_DEV_NULL = "/dev/null"


# Exception, for a hostPath volume (podResources: the kubelet's socket, as root; volume-mounts: /dev/null, as the
# agent's own non-root user): baseline and restricted both forbid hostPath, so the only level that admits the agent
# is privileged. The namespace holds the agent alone and only cluster admins create pods in it; warn and audit stay
# restricted, so every apply and the audit log still name what the agent does beyond restricted and anything else
# that would.
_HOSTPATH_POD_SECURITY = {
    "pod-security.kubernetes.io/enforce": "privileged",
    "pod-security.kubernetes.io/warn": "restricted",
    "pod-security.kubernetes.io/audit": "restricted",
}


def namespace(config: NodeAgentConfig, *, device_list_strategy: DeviceListStrategy = "envvar") -> dict[str, Any]:
    metadata = meta(config.namespace)
    labels = metadata["labels"]
    # The agent meets the restricted Pod Security level: enforce it, so nothing laxer lands beside it.
    labels["pod-security.kubernetes.io/enforce"] = "restricted"
    if config.pod_resources or device_list_strategy == "volume-mounts":
        labels.update(_HOSTPATH_POD_SECURITY)
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": metadata}


def _device_list_mounts(config: NodeAgentConfig) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Volumes and mounts asking the NVIDIA runtime for the GPUs in `nvidiaVisibleDevices` (`all`: every GPU) as
    the device plugin's `volume-mounts` strategy does: the host's /dev/null mounted at
    /var/run/nvidia-container-devices/<device>.

    Why (docs/eks.md, "The node agent on Auto Mode", has the table): Bottlerocket's runtime config for Kubernetes
    variants (bottlerocket-os/bottlerocket-core-kit v3.1.1 and later, packages/nvidia-container-toolkit/
    nvidia-container-toolkit-config-k8s) accepts device requests as volume mounts and ignores NVIDIA_VISIBLE_DEVICES
    in unprivileged containers, and Auto Mode takes no Bottlerocket settings to change that. The toolkit
    (NVIDIA/nvidia-container-toolkit v1.16.2 to v1.18.0: the runtime hook's getDevices, image/cuda_image.go) reads
    such mounts, whose source must be exactly /dev/null, before the variable and whether or not the container is
    privileged; the device plugin's volume-mounts strategy (NVIDIA/k8s-device-plugin v0.20.0) sends the same.
    Only NVML's library is injected (`NVIDIA_DRIVER_CAPABILITIES`); no `nvidia.com/gpu` is requested, so no
    workload loses a GPU to the observer.

    Exception: a hostPath volume (/dev/null, read-only, type CharDevice so a node without it fails the pod rather
    than mounting a new file); `namespace` enforces the privileged Pod Security level for it, and baseline and
    restricted tenants can't do the same (they forbid hostPath). Not yet verified on a real Auto Mode node."""
    volumes, mounts = [], []
    for i, device in enumerate(d.strip() for d in config.nvidia_visible_devices.split(",") if d.strip()):
        name = f"nvidia-device-request-{i}"
        volumes.append({"name": name, "hostPath": {"path": _DEV_NULL, "type": "CharDevice"}})
        mounts.append({"name": name, "mountPath": f"{_DEVICE_LIST_MOUNT_ROOT}/{device}", "readOnly": True})
    return volumes, mounts


def _env(config: NodeAgentConfig, mig_strategy: str, device_list_strategy: DeviceListStrategy
         ) -> list[dict[str, Any]]:
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
    if device_list_strategy == "volume-mounts":
        del plain["NVIDIA_VISIBLE_DEVICES"]  # the mounts ask instead; the runtime ignores it there anyway
    if config.pod_resources:
        plain["GPU_NODE_AGENT_POD_RESOURCES"] = "true"
    if config.node_repair.enabled:
        plain["GPU_NODE_AGENT_REPAIR_CONDITION"] = config.node_repair.agent_flag
        if config.node_repair.taint:
            plain["GPU_NODE_AGENT_REPAIR_TAINT"] = "true"
    if mig_strategy != "none":  # MIG pools' strategy: the agent's MIG labels follow the device plugin's
        plain["GPU_NODE_AGENT_MIG_STRATEGY"] = mig_strategy
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


def daemonset(
    config: NodeAgentConfig, contract: IsolationContract, image: str, *, mig_strategy: str = "none",
    device_list_strategy: DeviceListStrategy = "envvar",
) -> dict[str, Any]:
    # Ready: it serves metrics (what the Service is for); alive: its collection loop hasn't stalled (/healthz).
    timing = {"periodSeconds": 20, "timeoutSeconds": 5}
    readiness = {"httpGet": {"path": "/metrics", "port": "metrics"}, **timing}
    liveness = {"httpGet": {"path": "/healthz", "port": "metrics"}, **timing, "failureThreshold": 3,
                "initialDelaySeconds": 10}
    mounts = [{"name": "kube-api-access", "mountPath": _TOKEN_DIR, "readOnly": True}]
    container: dict[str, Any] = {
        "name": NODE_AGENT_NAME,
        "image": image,
        "args": ["run"],
        "env": _env(config, mig_strategy, device_list_strategy),
        "ports": [{"name": "metrics", "containerPort": config.port, "protocol": "TCP"}],
        "readinessProbe": readiness,
        "livenessProbe": liveness,
        "securityContext": container_security_context(),
        "resources": config.resources.to_k8s(),
        "volumeMounts": mounts,
    }
    volumes = [_token_volume()]
    if device_list_strategy == "volume-mounts":
        device_volumes, device_mounts = _device_list_mounts(config)
        volumes += device_volumes
        mounts += device_mounts
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
        "metadata": meta(NODE_AGENT_NAME, config.namespace),
        "spec": {
            "selector": {"matchLabels": dict(SELECTOR)},
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "10%"}},
            "template": {"metadata": {"labels": {**SELECTOR, **LABELS}}, "spec": pod_spec},
        },
    }
