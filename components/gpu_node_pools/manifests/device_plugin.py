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
from ..config.sharing import DEVICE_PLUGIN_CONFIG_LABEL, GPU_RESOURCE, SharingConfig
from ..config.image import image_with_digest
from ..contract import IsolationContract
from ._pod import container_security_context, pod_security_context

__all__ = [
    "DEVICE_PLUGIN_CONFIG_FILE",
    "MPS_CONTROL_DAEMON_PREFIX",
    "MPS_ROOT",
    "NAMED_CONFIG_MAP",
    "build_device_plugin",
    "mps_daemonset_name",
    "named_daemonset_name",
    "sharing_plugin_config",
    "time_slicing_config",
]

DEVICE_PLUGIN_CONFIG_FILE = "/config/config.yaml"

# Upstream names, so `kubectl` habits and docs carry over.
_NAME = "nvidia-device-plugin"
_DAEMONSET = "nvidia-device-plugin-daemonset"
_CONTAINER = "nvidia-device-plugin-ctr"
_SELECTOR = {"name": "nvidia-device-plugin-ds"}
_CONFIG_MAP = "nvidia-device-plugin-config"
NAMED_CONFIG_MAP = "nvidia-device-plugin-configs"
# The chart's `mps.root`: where the MPS control daemon keeps its pipes and logs, shared with the plugin.
MPS_ROOT = "/run/nvidia/mps"
MPS_CONTROL_DAEMON_PREFIX = "nvidia-mps-control-daemon-"
_LABELS = {"app.kubernetes.io/name": _NAME, "app.kubernetes.io/part-of": "gpu-node-pools"}
_KUBELET_DEVICE_PLUGINS = "/var/lib/kubelet/device-plugins"
_GPU_RESOURCE = GPU_RESOURCE
# The chart's deprecated but still honoured critical add-on toleration.
_CRITICAL_ADDONS_ONLY = {"key": "CriticalAddonsOnly", "operator": "Exists"}


def time_slicing_config(config: TimeSlicingConfig) -> dict[str, Any]:
    """The plugin's config file (api/config/v1) for time-slicing `nvidia.com/gpu`."""
    sharing: dict[str, Any] = {"resources": [{"name": _GPU_RESOURCE, "replicas": config.replicas}]}
    if config.fail_requests_greater_than_one:
        sharing["failRequestsGreaterThanOne"] = True
    return {"version": "v1", "sharing": {"timeSlicing": sharing}}


def sharing_plugin_config(sharing: SharingConfig) -> dict[str, Any]:
    """The plugin's config file (api/config/v1) for one pool's sharing: MIG sets the strategy the plugin
    advertises MIG devices by; time-slicing and MPS set the shares per GPU."""
    if sharing.mig is not None:
        return {"version": "v1", "flags": {"migStrategy": sharing.mig.strategy}}
    key, replicas = ("timeSlicing", sharing.time_slicing) if sharing.time_slicing else ("mps", sharing.mps)
    assert replicas is not None  # the model sets exactly one
    return {"version": "v1", "sharing": {key: {"resources": [{"name": _GPU_RESOURCE, "replicas": replicas.replicas}]}}}


def named_daemonset_name(config_name: str) -> str:
    """The DaemonSet serving the nodes labelled with one named config (a DNS name from the pool's name)."""
    return f"{_NAME}-{config_name.lower().replace('_', '-')}"


def mps_daemonset_name(config_name: str) -> str:
    """The MPS control daemon's DaemonSet for one config (at most 62 characters: its name is also a label value)."""
    return f"{MPS_CONTROL_DAEMON_PREFIX}{config_name.lower().replace('_', '-')}"


def build_device_plugin(
    config: DevicePluginConfig, contract: IsolationContract, pool_sharing: dict[str, SharingConfig] | None = None
) -> list[dict[str, Any]]:
    """Namespace, optional time-slicing ConfigMap, and the DaemonSet; with `pool_sharing` (config name -> the
    pool's sharing), the named configs' ConfigMap and a DaemonSet per config. Nothing when disabled."""
    if not config.enabled:
        return []
    pool_sharing = pool_sharing or {}
    objects = [_namespace(config.namespace)]
    config_file = None
    if config.time_slicing:
        config_file = yaml.safe_dump(time_slicing_config(config.time_slicing), sort_keys=False)
        objects.append(_config_map(config.namespace, config_file))
    named = {name: yaml.safe_dump(sharing_plugin_config(s), sort_keys=False) for name, s in pool_sharing.items()}
    if named:
        objects.append(_named_config_map(config.namespace, named))
    objects.append(_deny_all_network_policy(config.namespace))
    objects.append(_daemonset(config, contract, config_file, named=sorted(named)))
    for name, sharing in pool_sharing.items():
        objects.append(_daemonset(config, contract, named[name], config_name=name, mps=sharing.mps is not None))
        if sharing.mps is not None:
            objects.append(_mps_control_daemon(config, contract, name, named[name]))
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


def _named_config_map(namespace: str, configs: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": NAMED_CONFIG_MAP, "namespace": namespace, "labels": dict(_LABELS)},
        "data": dict(sorted(configs.items())),
    }


def _config_volume(config_name: str | None) -> dict[str, Any]:
    """The one config file a DaemonSet reads: the default ConfigMap's, or one key of the named configs'."""
    if config_name is None:
        return {"name": "config", "configMap": {"name": _CONFIG_MAP}}
    return {"name": "config", "configMap": {"name": NAMED_CONFIG_MAP, "items": [{"key": config_name, "path": "config.yaml"}]}}


def _node_affinity(contract: IsolationContract, config_name: str | None, named: list[str]) -> dict[str, Any]:
    """The contract's device-plugin affinity, narrowed to the nodes of one named config, or (the default
    DaemonSet) to nodes that select none of the named configs."""
    affinity = contract.device_plugin_node_affinity()
    if config_name is not None:
        extra = {"key": DEVICE_PLUGIN_CONFIG_LABEL, "operator": "In", "values": [config_name]}
    elif named:
        extra = {"key": DEVICE_PLUGIN_CONFIG_LABEL, "operator": "NotIn", "values": named}
    else:
        return affinity
    for term in affinity["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]:
        term["matchExpressions"].append(extra)
    return affinity


def _mps_volumes() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The MPS root the control daemon and the plugin share (the chart's `mps-root` and `mps-shm`)."""
    mounts = [{"name": "mps-root", "mountPath": "/mps"}, {"name": "mps-shm", "mountPath": "/dev/shm"}]
    volumes = [
        {"name": "mps-root", "hostPath": {"path": MPS_ROOT, "type": "DirectoryOrCreate"}},
        {"name": "mps-shm", "hostPath": {"path": f"{MPS_ROOT}/shm"}},
    ]
    return mounts, volumes


def _daemonset(
    config: DevicePluginConfig, contract: IsolationContract, config_file: str | None, *,
    config_name: str | None = None, named: list[str] | None = None, mps: bool = False,
) -> dict[str, Any]:
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
        volumes.append(_config_volume(config_name))
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
    if mps:
        env.append({"name": "MPS_ROOT", "value": MPS_ROOT})
        mps_mounts, mps_volumes = _mps_volumes()
        mounts += mps_mounts
        volumes += mps_volumes
    scheduling = contract.gpu_daemon_scheduling()
    selector = dict(_SELECTOR) if config_name is None else {"name": named_daemonset_name(config_name)}
    template_metadata: dict[str, Any] = {"labels": {**selector, **_LABELS}}
    if annotations:
        template_metadata["annotations"] = annotations
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {
            "name": _DAEMONSET if config_name is None else named_daemonset_name(config_name),
            "namespace": config.namespace,
            "labels": dict(_LABELS),
        },
        "spec": {
            "selector": {"matchLabels": selector},
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
                    # GPU nodes only, and not those whose image runs its own plugin (Bottlerocket NVIDIA); the
                    # nodes of one named config, or (default) of none.
                    "affinity": _node_affinity(contract, config_name, named or []),
                    "containers": [container],
                    "volumes": volumes,
                },
            },
        },
    }


def _mps_control_daemon(
    config: DevicePluginConfig, contract: IsolationContract, config_name: str, config_file: str
) -> dict[str, Any]:
    """NVIDIA's MPS control daemon for one MPS config's nodes (the chart's `mps-control-daemon` DaemonSet): it
    starts `nvidia-cuda-mps-control` per GPU with the config's share of memory and threads; the plugin hands pods
    its pipes under the shared MPS root."""
    name = mps_daemonset_name(config_name)
    mounts, volumes = _mps_volumes()
    mounts.append({"name": "config", "mountPath": "/config", "readOnly": True})
    volumes.append(_config_volume(config_name))
    privileged: dict[str, Any] = {"privileged": True}
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": name, "namespace": config.namespace, "labels": dict(_LABELS)},
        "spec": {
            "selector": {"matchLabels": {"name": name}},
            "updateStrategy": {"type": "RollingUpdate"},
            "template": {
                "metadata": {
                    "labels": {"name": name, **_LABELS},
                    "annotations": {"gpu-node-pools.io/config-sha256": hashlib.sha256(config_file.encode()).hexdigest()},
                },
                "spec": {
                    "automountServiceAccountToken": False,
                    "priorityClassName": "system-node-critical",
                    "securityContext": pod_security_context(run_as_user=None),
                    "tolerations": [
                        contract.gpu_toleration(), _CRITICAL_ADDONS_ONLY, *(t.to_k8s() for t in config.extra_tolerations),
                    ],
                    "affinity": _node_affinity(contract, config_name, []),
                    # Named exception to our secure defaults, as upstream: mounting the MPS shm (Bidirectional
                    # propagation) and starting the MPS server per GPU need a privileged container; it has no
                    # token and no network (the namespace's deny-all policy).
                    "initContainers": [{
                        "name": "mps-control-daemon-mounts",
                        "image": image_with_digest(config.image, config.image_digest),
                        "command": ["mps-control-daemon", "mount-shm"],
                        "securityContext": privileged,
                        "resources": config.resources.to_k8s(),
                        "volumeMounts": [{"name": "mps-root", "mountPath": "/mps", "mountPropagation": "Bidirectional"}],
                    }],
                    "containers": [{
                        "name": "mps-control-daemon-ctr",
                        "image": image_with_digest(config.image, config.image_digest),
                        "command": ["mps-control-daemon"],
                        "env": [
                            {"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
                            {"name": "CONFIG_FILE", "value": DEVICE_PLUGIN_CONFIG_FILE},
                            {"name": "NVIDIA_VISIBLE_DEVICES", "value": "all"},
                            {"name": "NVIDIA_DRIVER_CAPABILITIES", "value": "compute,utility"},
                        ],
                        "securityContext": privileged,
                        "resources": config.resources.to_k8s(),
                        "volumeMounts": mounts,
                    }],
                    "volumes": volumes,
                },
            },
        },
    }
