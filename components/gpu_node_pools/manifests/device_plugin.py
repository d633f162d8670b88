"""The NVIDIA device plugin: advertises `nvidia.com/gpu` on GPU nodes, and only there.

Mirrors the upstream static manifest `deployments/static/nvidia-device-plugin.yml` of NVIDIA/k8s-device-plugin
v0.18.2 (DaemonSet, RollingUpdate, `system-node-critical`, hostPath device-plugins dir, allowPrivilegeEscalation
false, drop ALL), adds the Helm chart's `CriticalAddonsOnly` toleration, takes the GPU toleration and node affinity
from the isolation contract, and sets requests and limits. Optional time-slicing is a `version: v1` config file in
a ConfigMap, passed with the plugin's `CONFIG_FILE` variable (the `--config-file` flag's environment form).
"""

from __future__ import annotations

import hashlib
from typing import Any

import yaml

from ..config.device_plugin import DevicePluginConfig, TimeSlicingConfig
from ..config.image import image_with_digest
from ..contract import IsolationContract
from ._pod import container_security_context, pod_security_context

__all__ = [
    "DEVICE_PLUGIN_CONFIG_FILE",
    "build_device_plugin",
    "time_slicing_config",
]

DEVICE_PLUGIN_CONFIG_FILE = "/config/config.yaml"

# Upstream names, so `kubectl` habits and docs carry over.
_NAME = "nvidia-device-plugin"
_DAEMONSET = "nvidia-device-plugin-daemonset"
_CONTAINER = "nvidia-device-plugin-ctr"
_SELECTOR = {"name": "nvidia-device-plugin-ds"}
_CONFIG_MAP = "nvidia-device-plugin-config"
_LABELS = {"app.kubernetes.io/name": _NAME, "app.kubernetes.io/part-of": "gpu-node-pools"}
_KUBELET_DEVICE_PLUGINS = "/var/lib/kubelet/device-plugins"
_GPU_RESOURCE = "nvidia.com/gpu"
# The chart's deprecated but still honoured critical add-on toleration.
_CRITICAL_ADDONS_ONLY = {"key": "CriticalAddonsOnly", "operator": "Exists"}


def time_slicing_config(config: TimeSlicingConfig) -> dict[str, Any]:
    """The plugin's config file (api/config/v1) for time-slicing `nvidia.com/gpu`."""
    sharing: dict[str, Any] = {"resources": [{"name": _GPU_RESOURCE, "replicas": config.replicas}]}
    if config.fail_requests_greater_than_one:
        sharing["failRequestsGreaterThanOne"] = True
    return {"version": "v1", "sharing": {"timeSlicing": sharing}}


def build_device_plugin(config: DevicePluginConfig, contract: IsolationContract) -> list[dict[str, Any]]:
    """Namespace, optional time-slicing ConfigMap, and the DaemonSet; nothing when disabled."""
    if not config.enabled:
        return []
    objects = [_namespace(config.namespace)]
    config_file = None
    if config.time_slicing:
        config_file = yaml.safe_dump(time_slicing_config(config.time_slicing), sort_keys=False)
        objects.append(_config_map(config.namespace, config_file))
    objects.append(_deny_all_network_policy(config.namespace))
    objects.append(_daemonset(config, contract, config_file))
    return objects


def _namespace(name: str) -> dict[str, Any]:
    # The plugin needs a hostPath volume and root, which only the `privileged` Pod Security level admits; say so
    # explicitly so a stricter cluster-wide default doesn't leave the DaemonSet with no pods.
    labels = {**_LABELS, "pod-security.kubernetes.io/enforce": "privileged"}
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


def _deny_all_network_policy(namespace: str) -> dict[str, Any]:
    """No traffic in or out for any pod of the namespace: the plugin speaks to the kubelet over a unix socket and
    to nothing on the network (no API server, no metrics port)."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "deny-all", "namespace": namespace, "labels": dict(_LABELS)},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
    }


def _config_map(namespace: str, config_file: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": _CONFIG_MAP, "namespace": namespace, "labels": dict(_LABELS)},
        "data": {"config.yaml": config_file},
    }


def _daemonset(config: DevicePluginConfig, contract: IsolationContract, config_file: str | None) -> dict[str, Any]:
    env = [
        # Upstream's default since v0.18 (v0.17's static manifest set "false"): on a GPU node, a plugin that
        # can't reach NVML should crash visibly rather than advertise nothing.
        {"name": "FAIL_ON_INIT_ERROR", "value": "true"},
    ]
    mounts: list[dict[str, Any]] = [{"name": "kubelet-device-plugins-dir", "mountPath": _KUBELET_DEVICE_PLUGINS}]
    volumes: list[dict[str, Any]] = [
        {
            "name": "kubelet-device-plugins-dir",
            "hostPath": {"path": _KUBELET_DEVICE_PLUGINS, "type": "Directory"},
        }
    ]
    annotations: dict[str, str] = {}
    if config_file is not None:
        env.append({"name": "CONFIG_FILE", "value": DEVICE_PLUGIN_CONFIG_FILE})
        mounts.append({"name": "config", "mountPath": DEVICE_PLUGIN_CONFIG_FILE.rsplit("/", 1)[0], "readOnly": True})
        volumes.append({"name": "config", "configMap": {"name": _CONFIG_MAP}})
        # The plugin reads its config once at start: a changed config must roll the pods.
        annotations["gpu-node-pools.io/config-sha256"] = hashlib.sha256(config_file.encode()).hexdigest()

    container = {
        "name": _CONTAINER,
        "image": image_with_digest(config.image, config.image_digest),
        "env": env,
        # Named exception to our non-root rule: the plugin writes its gRPC socket into the kubelet's root-owned
        # device-plugins directory, so it runs as root (the image's USER 0). It keeps no capabilities and cannot
        # escalate; the policy pack allow-lists exactly this container. A read-only root is fine: with the default
        # `envvar` device-list strategy the plugin writes nothing but that socket.
        "securityContext": container_security_context(run_as_non_root=False),
        "resources": config.resources.to_k8s(),
        "volumeMounts": mounts,
        # Named exception to probing every container: the plugin serves nothing a probe could ask (gRPC on a unix
        # socket only the kubelet reaches), upstream ships none, and with FAIL_ON_INIT_ERROR it exits when NVML
        # fails, which the kubelet already restarts.
    }
    scheduling = contract.gpu_daemon_scheduling()
    template_metadata: dict[str, Any] = {"labels": {**_SELECTOR, **_LABELS}}
    if annotations:
        template_metadata["annotations"] = annotations
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": _DAEMONSET, "namespace": config.namespace, "labels": dict(_LABELS)},
        "spec": {
            "selector": {"matchLabels": dict(_SELECTOR)},
            "updateStrategy": {"type": "RollingUpdate"},
            "template": {
                "metadata": template_metadata,
                "spec": {
                    # The plugin talks to the kubelet over its socket, never to the API server: no token.
                    "automountServiceAccountToken": False,
                    "priorityClassName": "system-node-critical",
                    "securityContext": pod_security_context(run_as_user=None),
                    "tolerations": [
                        *scheduling["tolerations"],
                        _CRITICAL_ADDONS_ONLY,
                        *(t.to_k8s() for t in config.extra_tolerations),
                    ],
                    # GPU nodes only, and not those whose image runs its own plugin (Bottlerocket NVIDIA).
                    "affinity": contract.device_plugin_node_affinity(),
                    "containers": [container],
                    "volumes": volumes,
                },
            },
        },
    }
