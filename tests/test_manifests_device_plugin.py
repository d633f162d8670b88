"""The NVIDIA device plugin objects: on every GPU node, nowhere else, with no API token. The bar every builder
meets (schema, resources, locked-down containers; root is this plugin's named exception) is test_object_builders.py."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from builder_samples import DEVICE_PLUGIN as CONFIGS
from gpu_node_pools.config.device_plugin import (
    DEFAULT_DEVICE_PLUGIN_IMAGE,
    DevicePluginConfig,
)
from gpu_node_pools.contract import GPU_PRESENT_LABEL, IsolationContract, Taint
from gpu_node_pools.manifests.device_plugin import (
    DEVICE_PLUGIN_CONFIG_FILE,
    build_device_plugin,
)
from k8s_objects import assert_refused, one, pod_spec

CONTRACTS = [
    IsolationContract(),
    IsolationContract(Taint("nvidia.com/gpu", "present", "NoSchedule")),
    IsolationContract(Taint("workload", "heavy", "NoSchedule")),
    IsolationContract(Taint("example.com/accelerator", "", "NoExecute")),
    IsolationContract(Taint("nvidia.com/gpu", "true", "PreferNoSchedule")),
]


def build(config: dict[str, Any] | None = None, contract: IsolationContract | None = None) -> list[dict[str, Any]]:
    return build_device_plugin(DevicePluginConfig.model_validate(config or {}), contract or IsolationContract())


@pytest.mark.parametrize("contract", CONTRACTS, ids=str)
def test_tolerates_the_gpu_taint_whatever_its_key_value_and_effect(contract: IsolationContract) -> None:
    assert contract.tolerates_gpu_taint(pod_spec(build(contract=contract))["tolerations"])


@pytest.mark.parametrize("contract", CONTRACTS, ids=str)
def test_selects_only_gpu_nodes(contract: IsolationContract) -> None:
    terms = pod_spec(build(contract=contract))["affinity"]["nodeAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"
    ]["nodeSelectorTerms"]
    assert terms == [{"matchExpressions": [
        {"key": GPU_PRESENT_LABEL, "operator": "In", "values": ["true"]},
        # Bottlerocket NVIDIA nodes run NVIDIA's plugin themselves
        {"key": "gpu-node-pools.io/builtin-device-plugin", "operator": "NotIn", "values": ["true"]},
    ]}]


def test_mirrors_the_upstream_static_manifest() -> None:
    objects = build()
    daemonset = one(objects, "DaemonSet")
    spec = daemonset["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    assert [o["kind"] for o in objects] == ["Namespace", "NetworkPolicy", "DaemonSet"]
    assert daemonset["metadata"]["namespace"] == "nvidia-device-plugin"
    assert daemonset["spec"]["updateStrategy"] == {"type": "RollingUpdate"}
    assert spec["priorityClassName"] == "system-node-critical"
    assert container["image"] == DEFAULT_DEVICE_PLUGIN_IMAGE == "nvcr.io/nvidia/k8s-device-plugin:v0.18.2"
    assert {"key": "CriticalAddonsOnly", "operator": "Exists"} in spec["tolerations"]
    assert spec["volumes"][0]["hostPath"] == {"path": "/var/lib/kubelet/device-plugins", "type": "Directory"}
    assert container["volumeMounts"][0]["mountPath"] == "/var/lib/kubelet/device-plugins"
    assert {"name": "FAIL_ON_INIT_ERROR", "value": "true"} in container["env"]


@pytest.mark.parametrize("name", CONFIGS)
def test_the_pod_gets_no_service_account_token(name: str) -> None:
    # The plugin speaks only to the kubelet, over its socket; an API token would be a credential for nothing.
    spec = pod_spec(build(CONFIGS[name]))
    assert spec["automountServiceAccountToken"] is False
    assert not any("projected" in volume for volume in spec["volumes"])


@pytest.mark.parametrize(
    ("config", "image"),
    [
        ({}, "nvcr.io/nvidia/k8s-device-plugin:v0.18.2"),
        ({"imageDigest": "sha256:" + "d" * 64}, "nvcr.io/nvidia/k8s-device-plugin:v0.18.2@sha256:" + "d" * 64),
        (
            {"image": "registry.example.com/k8s-device-plugin:v0.18.2", "imageDigest": "sha256:" + "e" * 64},
            "registry.example.com/k8s-device-plugin:v0.18.2@sha256:" + "e" * 64,
        ),
        ({"image": "registry.example.com/k8s-device-plugin@sha256:" + "a" * 64}, None),
    ],
    ids=["tag", "default-tag-and-digest", "own-tag-and-digest", "digest-in-image"],
)
def test_an_image_digest_pins_the_tag(config: dict[str, Any], image: str | None) -> None:
    (container,) = pod_spec(build(config))["containers"]
    assert container["image"] == (image or config["image"])


@pytest.mark.parametrize("name", CONFIGS)
def test_every_container_has_cpu_memory_and_ephemeral_storage_requests_and_limits(name: str) -> None:
    # Ephemeral storage by default; resources given without it set none.
    expected = {"cpu", "memory"} | (set() if "resources" in CONFIGS[name] else {"ephemeral-storage"})
    for container in pod_spec(build(CONFIGS[name]))["containers"]:
        for bound in ("requests", "limits"):
            assert set(container["resources"][bound]) == expected


def test_the_namespace_denies_all_traffic() -> None:
    """The plugin speaks to the kubelet over a unix socket only: nothing on the network, in or out."""
    objects = build()
    policy = one(objects, "NetworkPolicy")
    assert policy["metadata"]["namespace"] == one(objects, "Namespace")["metadata"]["name"]
    assert policy["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


def test_the_missing_probes_are_a_named_exception() -> None:
    import inspect

    from gpu_node_pools.manifests import device_plugin

    (container,) = pod_spec(build())["containers"]
    assert "readinessProbe" not in container and "livenessProbe" not in container
    assert "Named exception to probing every container" in inspect.getsource(device_plugin)


@pytest.mark.parametrize(("replicas", "strict"), [(2, False), (4, False), (8, True)])
def test_time_slicing_config_is_mounted_and_named_by_config_file(replicas: int, strict: bool) -> None:
    objects = build({"timeSlicing": {"replicas": replicas, "failRequestsGreaterThanOne": strict}})
    config_map = one(objects, "ConfigMap")
    spec = pod_spec(objects)
    (container,) = spec["containers"]
    expected_sharing: dict[str, Any] = {"resources": [{"name": "nvidia.com/gpu", "replicas": replicas}]}
    if strict:
        expected_sharing["failRequestsGreaterThanOne"] = True
    assert yaml.safe_load(config_map["data"]["config.yaml"]) == {
        "version": "v1",
        "sharing": {"timeSlicing": expected_sharing},
    }
    assert {"name": "CONFIG_FILE", "value": DEVICE_PLUGIN_CONFIG_FILE} in container["env"]
    volume = next(v for v in spec["volumes"] if "configMap" in v)
    assert volume["configMap"]["name"] == config_map["metadata"]["name"]
    mount = next(m for m in container["volumeMounts"] if m["name"] == volume["name"])
    assert DEVICE_PLUGIN_CONFIG_FILE == mount["mountPath"] + "/config.yaml"


def test_a_changed_time_slicing_config_rolls_the_pods() -> None:
    def checksum(replicas: int) -> str:
        template = one(build({"timeSlicing": {"replicas": replicas}}), "DaemonSet")["spec"]["template"]
        return template["metadata"]["annotations"]["gpu-node-pools.io/config-sha256"]

    assert checksum(2) != checksum(3)


def test_extra_tolerations_are_added_after_the_contract_ones() -> None:
    tolerations = pod_spec(build(CONFIGS["extras"]))["tolerations"]
    assert tolerations[-1] == {"key": "spot", "operator": "Equal", "value": "true", "effect": "NoSchedule"}
    assert IsolationContract().tolerates_gpu_taint(tolerations)


def test_disabled_builds_nothing() -> None:
    assert build({"enabled": False}) == []


@pytest.mark.parametrize(
    ("config", "key", "message"),
    [
        ({"timeSlicing": {"replicas": 1}}, "timeSlicing.replicas", "greater than or equal to 2"),
        ({"timeSlicing": {}}, "timeSlicing.replicas", "Field required"),
        ({"image": "nvcr.io/nvidia/k8s-device-plugin"}, "image", "must be pinned"),
        ({"image": "nvcr.io/nvidia/k8s-device-plugin:latest"}, "image", "must be pinned"),
        ({"image": "registry.example.com:5000/k8s-device-plugin"}, "image", "must be pinned"),
        ({"image": "nvcr.io/NVIDIA/k8s-device-plugin:v0.18.2"}, "image", "not an image reference"),
        ({"imageDigest": "sha256:" + "A" * 64}, "imageDigest", "not an image digest"),
        ({"imageDigest": "a" * 64}, "imageDigest", "not an image digest"),
        (
            {"image": "nvcr.io/nvidia/k8s-device-plugin@sha256:" + "a" * 64, "imageDigest": "sha256:" + "b" * 64},
            "imageDigest",
            "not both",
        ),
        ({"namespace": "GPU_System"}, "namespace", "DNS-1123 label"),
        (
            {"resources": {"cpu": "2", "memory": "64Mi", "cpuLimit": "1", "memoryLimit": "64Mi"}},
            "resources",
            "cpu request 2 is above its limit 1",
        ),
        (
            {"resources": {"cpu": "lots", "memory": "64Mi", "cpuLimit": "1", "memoryLimit": "64Mi"}},
            "resources.cpu",
            "not a Kubernetes quantity",
        ),
        ({"extraTolerations": [{"key": "spot", "value": "true"}]}, "extraTolerations.0", "takes no value"),
        ({"extraTolerations": [{"key": "bad key!"}]}, "extraTolerations.0", "toleration key"),
        ({"timeSlicing": {"replicas": 2, "rename": True}}, "timeSlicing.rename", "Extra inputs"),
    ],
)
def test_bad_config_names_the_field(config: dict[str, Any], key: str, message: str) -> None:
    assert_refused(DevicePluginConfig, config, key, message)
