"""GPU sharing per pool: the checks against the pool's GPU model (each error at its key), and one sharing block
agreeing everywhere it shows: the device plugin's named configs, node labels, simulated node capacity, the local
Karpenter's instance types, the NodePool's requirements and cap, the MIG boot script, `pools`."""

from __future__ import annotations

import base64
from typing import Any

import pytest
import yaml

from gpu_node_pools.aws.launch_template import launch_template_data
from gpu_node_pools.config.platform import ConfigError, parse_platform_config
from gpu_node_pools.config.sharing import MigConfig, advertised_resources
from gpu_node_pools.contract import IsolationContract
from gpu_node_pools.facts.instance_types import INSTANCE_TYPES
from gpu_node_pools.facts.mig import MIG_GPUS
from gpu_node_pools.manifests.karpenter import KWOK_NODE_CLASS_REF, node_pool
from gpu_node_pools.manifests.kwok_instance_types import kwok_instance_types
from gpu_node_pools.manifests.simulated_nodes import simulated_nodes
from gpu_node_pools.parts import in_cluster_objects
from gpu_node_pools.pools_table import pools_table
from k8s_schema import validate_objects

EXISTING = {"mode": "existing", "kubeconfig": "kubeconfig"}
GENERAL = {"name": "general", "kind": "general", "instanceTypes": ["m6i.large"], "scaling": {"min": 1, "max": 2}}
H100 = "p5.48xlarge"


def managed(name: str = "shared", types: tuple[str, ...] = ("g6.xlarge",), **sharing: Any) -> dict[str, Any]:
    return {"name": name, "kind": "gpu", "instanceTypes": list(types), "scaling": {"min": 1, "max": 2}, "sharing": sharing}


def elastic(name: str = "shared-elastic", families: tuple[str, ...] = ("g6",), **sharing: Any) -> dict[str, Any]:
    return {"name": name, "kind": "gpu", "elastic": {"instanceFamilies": list(families), "limits": {"gpus": 2}},
            "sharing": sharing}


def config(*pools: dict[str, Any]):
    return parse_platform_config(
        {"cluster": EXISTING, "nodePools": [GENERAL, *pools], "nodeAgent": {"enabled": False}}, "stack.yaml")


def refused(pool: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as raised:
        config(pool)
    return str(raised.value)


@pytest.mark.parametrize("pool, key, message", [
    (managed(mig={"strategy": "single", "layout": "all-1g.10gb"}), "nodePools[1].sharing.mig",
     "g6.xlarge (NVIDIA L4) can't be split with MIG"),
    (managed(types=(H100,), mig={"strategy": "single", "layout": "all-1g.5gb"}), "nodePools[1].sharing.mig.layout",
     "1g.5gb: not a MIG profile of NVIDIA H100 80GB HBM3"),
    (managed(types=(H100,), mig={"strategy": "single", "layout": "3g.40gb,4g.40gb"}),
     "nodePools[1].sharing.mig.strategy", "must all be one profile"),
    (managed(types=(H100,), mig={"strategy": "mixed", "layout": "4g.40gb,4g.40gb"}), "nodePools[1].sharing.mig.layout",
     "at most 1 fit one NVIDIA H100 80GB HBM3"),
    (managed(types=(H100,), mig={"strategy": "mixed", "layout": "3g.40gb,3g.40gb,1g.20gb"}),
     "nodePools[1].sharing.mig.layout", "take 7 compute and 10 memory slices"),
    (managed(types=(H100,), mig={"strategy": "mixed", "layout": "one big"}), "nodePools[1].sharing.mig.layout",
     "is not a layout"),
    (managed(types=("p4d.24xlarge", H100), mig={"strategy": "mixed", "layout": "all-1g.10gb"}),
     "nodePools[1].sharing.mig", "fits one GPU model"),
    (managed(types=("x9.unknown",), mig={"strategy": "mixed", "layout": "all-1g.10gb"}), "nodePools[1].sharing.mig",
     "not in the instance-type table"),
    (managed(timeSlicing={"replicas": 1}), "nodePools[1].sharing.timeSlicing.replicas", "greater than or equal to 2"),
    (managed(mps={"replicas": 49}), "nodePools[1].sharing.mps.replicas", "less than or equal to 48"),
    (managed(timeSlicing={"replicas": 4}, mig={"strategy": "single", "layout": "all-1g.10gb"}),
     "nodePools[1].sharing", "set exactly one of timeSlicing, mps, mig (got timeSlicing and mig)"),
    (managed(), "nodePools[1].sharing", "got none"),
    ({**managed(timeSlicing={"replicas": 4}), "amiType": "BOTTLEROCKET_x86_64_NVIDIA"}, "nodePools[1].sharing",
     "runs its own device plugin"),
    ({**managed(timeSlicing={"replicas": 4}), "kind": "general", "instanceTypes": ["m6i.large"]},
     "nodePools[1].sharing", "only GPU pools share GPUs"),
    ({**elastic(families=("p5",), mig={"strategy": "mixed", "layout": "all-1g.10gb"}),
      "elastic": {"instanceFamilies": ["p5"], "limits": {"gpus": 8}}}, "nodePools[1].sharing.mig.strategy",
     "Karpenter's instance types never offer"),
    ({**elastic(families=("p5",), mig={"strategy": "single", "layout": "all-1g.10gb"}),
      "elastic": {"instanceFamilies": ["p5"], "limits": {"gpus": 8},
                  "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "big-disks"}}},
     "nodePools[1].elastic.nodeClassRef", "boots from its own EC2NodeClass"),
    (elastic(families=("g6",), mig={"strategy": "single", "layout": "all-1g.10gb"}), "nodePools[1].sharing.mig",
     "(NVIDIA L4) can't be split with MIG"),
    ({**managed(timeSlicing={"replicas": 4}), "labels": {"nvidia.com/device-plugin.config": "other"}},
     "nodePools[1].labels", "set from the pool's sharing block"),
])
def test_bad_sharing_is_refused_at_its_key(pool: dict[str, Any], key: str, message: str) -> None:
    error = refused(pool)
    assert f"{key}:" in error and message in error, error


@pytest.mark.parametrize("layout, expected", [
    ("all-1g.10gb", ["1g.10gb"] * 7),
    ("all-3g.40gb", ["3g.40gb"] * 2),
    ("3g.40gb,2g.20gb,1g.10gb,1g.10gb", ["3g.40gb", "2g.20gb", "1g.10gb", "1g.10gb"]),
])
def test_layouts_expand_per_gpu(layout: str, expected: list[str]) -> None:
    mig = MigConfig(strategy="mixed", layout=layout)
    assert mig.profiles_per_gpu(MIG_GPUS["NVIDIA H100 80GB HBM3"]) == expected


def test_every_mig_table_profile_fits_its_gpu_alone() -> None:
    """The table's own rows are consistent: max_count copies of any profile fit one GPU's slices."""
    for gpu in MIG_GPUS.values():
        for profile in gpu.profiles.values():
            assert profile.compute_slices * profile.max_count <= gpu.compute_slices, profile
            assert profile.memory_slices * profile.max_count <= gpu.memory_slices, profile


@pytest.mark.parametrize("sharing, gpus, model, expected", [
    (None, 8, "NVIDIA H100 80GB HBM3", {"nvidia.com/gpu": 8}),
    ({"timeSlicing": {"replicas": 4}}, 1, "NVIDIA L4", {"nvidia.com/gpu": 4}),
    ({"mps": {"replicas": 3}}, 4, "NVIDIA L4", {"nvidia.com/gpu": 12}),
    ({"mig": {"strategy": "single", "layout": "all-1g.10gb"}}, 8, "NVIDIA H100 80GB HBM3", {"nvidia.com/gpu": 56}),
    ({"mig": {"strategy": "mixed", "layout": "3g.40gb,2g.20gb,1g.10gb+me"}}, 8, "NVIDIA H100 80GB HBM3",
     {"nvidia.com/mig-3g.40gb": 8, "nvidia.com/mig-2g.20gb": 8, "nvidia.com/mig-1g.10gb.me": 8}),
])
def test_advertised_resources_follow_the_device_plugin(sharing: Any, gpus: int, model: str, expected: Any) -> None:
    from gpu_node_pools.config.sharing import SharingConfig
    parsed = SharingConfig.model_validate(sharing) if sharing else None
    assert advertised_resources(parsed, gpus, model) == expected


def _by(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def _expressions(daemonset: dict[str, Any]) -> list[dict[str, Any]]:
    terms = daemonset["spec"]["template"]["spec"]["affinity"]["nodeAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    return [e for t in terms for e in t["matchExpressions"]]


def test_each_shared_pool_gets_its_named_config_and_daemonset() -> None:
    stack = config(managed(timeSlicing={"replicas": 4}),
                   managed("mig", types=(H100,), mig={"strategy": "mixed", "layout": "all-1g.10gb"}),
                   {"name": "whole", "kind": "gpu", "instanceTypes": ["g5.xlarge"], "scaling": {"min": 1, "max": 2}})
    objects = in_cluster_objects(stack)
    validate_objects(objects)
    configs = _by(objects, "ConfigMap")["nvidia-device-plugin-configs"]["data"]
    assert yaml.safe_load(configs["shared"]) == {
        "version": "v1", "sharing": {"timeSlicing": {"resources": [{"name": "nvidia.com/gpu", "replicas": 4}]}}}
    assert yaml.safe_load(configs["mig"]) == {"version": "v1", "flags": {"migStrategy": "mixed"}}
    daemonsets = _by(objects, "DaemonSet")
    default = daemonsets["nvidia-device-plugin-daemonset"]
    assert {"key": "nvidia.com/device-plugin.config", "operator": "NotIn", "values": ["mig", "shared"]} in _expressions(default)
    for name in ("shared", "mig"):
        ds = daemonsets[f"nvidia-device-plugin-{name}"]
        assert {"key": "nvidia.com/device-plugin.config", "operator": "In", "values": [name]} in _expressions(ds)
        volume = next(v for v in ds["spec"]["template"]["spec"]["volumes"] if v["name"] == "config")
        assert volume["configMap"]["items"] == [{"key": name, "path": "config.yaml"}]
        container = ds["spec"]["template"]["spec"]["containers"][0]
        assert {"name": "CONFIG_FILE", "value": "/config/config.yaml"} in container["env"]
        assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
        assert ds["spec"]["template"]["spec"]["automountServiceAccountToken"] is False
    # The pools' nodes select their configs by label; the whole-GPU pool's nodes select none.
    nodes = {n["metadata"]["labels"]["gpu-node-pools.io/pool"]: n for n in simulated_nodes(stack.managed_pools, stack.contract)}
    assert nodes["shared"]["metadata"]["labels"]["nvidia.com/device-plugin.config"] == "shared"
    assert nodes["mig"]["metadata"]["labels"]["nvidia.com/mig.strategy"] == "mixed"
    assert "nvidia.com/device-plugin.config" not in nodes["whole"]["metadata"]["labels"]


def test_mps_pools_get_the_mps_control_daemon() -> None:
    objects = in_cluster_objects(config(managed(mps={"replicas": 4})))
    validate_objects(objects)
    daemonsets = _by(objects, "DaemonSet")
    control = daemonsets["nvidia-mps-control-daemon-shared"]
    assert {"key": "nvidia.com/device-plugin.config", "operator": "In", "values": ["shared"]} in _expressions(control)
    plugin = daemonsets["nvidia-device-plugin-shared"]["spec"]["template"]["spec"]
    assert {"name": "mps-root", "hostPath": {"path": "/run/nvidia/mps", "type": "DirectoryOrCreate"}} in plugin["volumes"]


def test_longest_pool_names_still_name_valid_daemonsets() -> None:
    name = "p" * 36
    objects = in_cluster_objects(config(managed(name, mps={"replicas": 2})))
    for ds in _by(objects, "DaemonSet").values():
        assert len(ds["metadata"]["name"]) <= 63 and all(len(v) <= 63 for v in ds["spec"]["selector"]["matchLabels"].values())
    validate_objects(objects)


def test_without_shared_pools_the_device_plugin_is_unchanged() -> None:
    objects = in_cluster_objects(config())
    assert "nvidia-device-plugin-configs" not in _by(objects, "ConfigMap")
    assert list(_by(objects, "DaemonSet")).count("nvidia-device-plugin-daemonset") == 1
    assert all(e["key"] != "nvidia.com/device-plugin.config"
               for e in _expressions(_by(objects, "DaemonSet")["nvidia-device-plugin-daemonset"]))


@pytest.mark.parametrize("sharing, expected", [
    ({"timeSlicing": {"replicas": 4}}, {"nvidia.com/gpu": "4"}),
    ({"mig": {"strategy": "single", "layout": "all-3g.40gb"}}, {"nvidia.com/gpu": "16"}),
    ({"mig": {"strategy": "mixed", "layout": "3g.40gb,3g.40gb"}}, {"nvidia.com/mig-3g.40gb": "16"}),
])
def test_simulated_nodes_advertise_what_the_plugin_would(sharing: dict[str, Any], expected: dict[str, str]) -> None:
    types = ("g6.xlarge",) if "timeSlicing" in sharing else (H100,)
    stack = config(managed(types=types, **sharing))
    node = simulated_nodes(stack.managed_pools, stack.contract)[-1]
    gpu_resources = {k: v for k, v in node["status"]["allocatable"].items() if k.startswith("nvidia.com/")}
    assert gpu_resources == expected


def test_local_karpenter_offers_a_shared_pool_its_own_copies() -> None:
    stack = config(elastic(timeSlicing={"replicas": 4}),
                   {"name": "whole", "kind": "gpu", "elastic": {"instanceFamilies": ["g6"], "limits": {"gpus": 2}}})
    types = {t["name"]: t for t in kwok_instance_types(pools=stack.node_pools)}
    copies = {n: t for n, t in types.items() if n.endswith(".shared-elastic")}
    assert set(copies) == {f"{t.name}.shared-elastic" for t in INSTANCE_TYPES.values() if t.family == "g6"}
    assert copies["g6.12xlarge.shared-elastic"]["resources"]["nvidia.com/gpu"] == "16"
    assert types["g6.12xlarge"]["resources"]["nvidia.com/gpu"] == "4"
    pools = {p.name: node_pool(p, stack.contract, KWOK_NODE_CLASS_REF) for p in stack.elastic_pools}
    assert pools["shared-elastic"]["spec"]["limits"] == {"nvidia.com/gpu": "8"}  # 2 GPUs x 4 shares

    def admits(pool: dict[str, Any], offering: dict[str, Any]) -> bool:
        """Karpenter's offering check for the sharing keys: a key both define must intersect."""
        labels = {r["key"]: r["values"][0] for r in offering["Requirements"]}
        for req in pool["spec"]["template"]["spec"]["requirements"]:
            if req["key"] not in labels:
                continue
            inside = labels[req["key"]] in req["values"]
            if inside != (req["operator"] == "In"):
                return False
        return True

    shared, whole = pools["shared-elastic"], pools["whole"]
    for name, instance_type in types.items():
        if not name.startswith("g6."):
            continue
        offering = instance_type["offerings"][0]
        assert admits(shared, offering) == (name in copies), name
        assert admits(whole, offering) == (name not in copies), name


def test_mig_layout_is_applied_at_boot_by_the_launch_template() -> None:
    stack = config(managed(types=(H100,), mig={"strategy": "single", "layout": "all-1g.10gb"}))
    data = launch_template_data(stack.node_pools[1])
    document = base64.b64decode(data["UserData"]).decode()
    assert "Content-Type: text/x-shellscript" in document
    assert "nvidia-smi -mig 1" in document
    assert "nvidia-smi mig -cgi " + ",".join(["1g.10gb"] * 7) + " -C" in document
    assert "UserData" not in launch_template_data(config(managed(timeSlicing={"replicas": 2})).node_pools[1])


def test_pools_table_shows_each_pools_sharing() -> None:
    table = pools_table(config(managed(timeSlicing={"replicas": 4}), elastic(mps={"replicas": 2}),
                               managed("mig", types=(H100,), mig={"strategy": "mixed", "layout": "all-1g.10gb"})))
    assert "time-slicing x4" in table and "mps x2" in table and "mig mixed all-1g.10gb" in table


def _agent_env(stack: Any) -> dict[str, str]:
    objects = in_cluster_objects(stack)
    [agent] = [o for o in objects if o["kind"] == "DaemonSet" and o["metadata"]["name"] == "gpu-node-agent"]
    return {e["name"]: e.get("value", "") for e in agent["spec"]["template"]["spec"]["containers"][0]["env"]}


def test_the_node_agent_labels_mig_devices_by_the_mig_pools_strategy() -> None:
    def with_agent(*pools: dict[str, Any]):
        return parse_platform_config({"cluster": EXISTING, "nodePools": [GENERAL, *pools],
                                      "nodeAgent": {"image": "registry.example.com/gpu-node-agent:0.1.0"}}, "stack.yaml")

    mig = managed("mig", types=(H100,), mig={"strategy": "single", "layout": "all-1g.10gb"})
    assert _agent_env(with_agent(mig))["GPU_NODE_AGENT_MIG_STRATEGY"] == "single"
    assert "GPU_NODE_AGENT_MIG_STRATEGY" not in _agent_env(with_agent(managed(timeSlicing={"replicas": 2})))
    other = managed("mig2", types=(H100,), mig={"strategy": "mixed", "layout": "all-1g.10gb"})
    with pytest.raises(ConfigError) as raised:
        with_agent(mig, other)
    assert "nodePools[2].sharing.mig.strategy: mixed, but nodePools[1] uses single" in str(raised.value)
