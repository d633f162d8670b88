"""Elastic pools (GPU and general): the config's checks (one clear error per bad key), the NodePool built from the
isolation contract, and the local Karpenter's instance types agreeing with that NodePool."""

from __future__ import annotations

from typing import Any

import pytest

from gpu_node_pools.config.platform import ConfigError, parse_platform_config
from gpu_node_pools.config.stack_files import load_stack
from gpu_node_pools.contract import IsolationContract, Taint
from gpu_node_pools.facts.instance_types import INSTANCE_TYPES
from gpu_node_pools.parts import in_cluster_objects
from gpu_node_pools.manifests.karpenter import EKS_NODE_CLASS_REF, KWOK_NODE_CLASS_REF, node_pool
from gpu_node_pools.manifests.kwok_instance_types import LOCAL_ZONES, kwok_instance_types
from k8s_schema import crd_problems, validate_objects

EXISTING = {"mode": "existing", "kubeconfig": "kubeconfig"}
EKS = {"mode": "eks", "name": "gpu", "subnetIds": ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"],
       "publicAccessCidrs": ["203.0.113.0/24"]}
AGENT = {"image": "registry.example.com/gpu-node-agent:0.1.0"}
ELASTIC = {"instanceFamilies": ["g5", "g6"], "capacityTypes": ["spot", "on-demand"], "limits": {"gpus": 4}}


def elastic_pool(**changes: Any) -> dict[str, Any]:
    pool: dict[str, Any] = {"name": "gpu-elastic", "kind": "gpu", "elastic": dict(ELASTIC)}
    elastic = changes.pop("elastic", {})
    pool["elastic"].update(elastic)
    pool.update(changes)
    return pool


GENERAL = {"name": "general", "kind": "general", "instanceTypes": ["m6i.large"], "scaling": {"min": 2, "max": 3}}
GENERAL_ELASTIC = {"instanceFamilies": ["m6i", "m7i"], "capacityTypes": ["spot", "on-demand"],
                   "limits": {"cpu": "64", "memory": "256Gi"}}


def general_pool(**changes: Any) -> dict[str, Any]:
    pool: dict[str, Any] = {"name": "general-elastic", "kind": "general", "elastic": dict(GENERAL_ELASTIC)}
    pool["elastic"].update(changes.pop("elastic", {}))
    pool.update(changes)
    return pool


def config(*pools: dict[str, Any], cluster: dict[str, Any] = EXISTING, **extra: Any):
    if cluster is EKS:  # elastic pools on EKS need Karpenter, whose controller runs on a general managed pool
        extra.setdefault("karpenter", {"enabled": True})
        pools = (GENERAL, *(p for p in pools if p is not GENERAL))
    return parse_platform_config({"cluster": cluster, "nodePools": list(pools), "nodeAgent": AGENT, **extra}, "stack.yaml")


BAD = [
    ("family without GPU", elastic_pool(elastic={"instanceFamilies": ["m6i"]}),
     "nodePools[0].elastic.instanceFamilies", "instance family 'm6i' has no GPU"),
    ("unknown family", elastic_pool(elastic={"instanceFamilies": ["x9z"]}),
     "nodePools[0].elastic.instanceFamilies", "unknown instance family 'x9z'"),
    ("cap below one node", elastic_pool(elastic={"instanceFamilies": ["p5"], "limits": {"gpus": 4}}),
     "nodePools[0].elastic.limits.gpus", "smallest allowed type, p5.48xlarge, has 8"),
    ("cpu cap below one node", elastic_pool(elastic={"limits": {"gpus": 4, "cpu": "2"}}),
     "nodePools[0].elastic.limits.cpu", "smaller than one node"),
    ("zero cap", elastic_pool(elastic={"limits": {"gpus": 0}}), "nodePools[0].elastic.limits.gpus", "greater than or equal to 1"),
    ("no cap", elastic_pool(elastic={"limits": {}}), "nodePools[0].elastic.limits.gpus", "required key is missing"),
    ("bad consolidateAfter", elastic_pool(elastic={"disruption": {"consolidateAfter": "5 min"}}),
     "nodePools[0].elastic.disruption.consolidateAfter", "'5 min' is not a duration"),
    ("days are no unit", elastic_pool(elastic={"expireAfter": "30d"}), "nodePools[0].elastic.expireAfter",
     "'30d' is not a duration"),
    ("Never is no grace period", elastic_pool(elastic={"terminationGracePeriod": "Never"}),
     "nodePools[0].elastic.terminationGracePeriod", "'Never' is not a duration"),
    ("budget nodes", elastic_pool(elastic={"disruption": {"budgets": [{"nodes": "ten"}]}}),
     "nodePools[0].elastic.disruption.budgets[0].nodes", "'ten' is not a node count"),
    ("budget window half given", elastic_pool(elastic={"disruption": {"budgets": [{"nodes": "0", "schedule": "@daily"}]}}),
     "nodePools[0].elastic.disruption.budgets[0]", "schedule and duration go together"),
    ("consolidation policy", elastic_pool(elastic={"disruption": {"consolidationPolicy": "Always"}}),
     "nodePools[0].elastic.disruption.consolidationPolicy", "'Always' is not allowed"),
    ("capacity type", elastic_pool(elastic={"capacityTypes": ["SPOT"]}), "nodePools[0].elastic.capacityTypes[0]",
     "'SPOT' is not allowed"),
    ("weight", elastic_pool(elastic={"weight": 101}), "nodePools[0].elastic.weight", "less than or equal to 100"),
    ("GPU family in a general pool", general_pool(elastic={"instanceFamilies": ["m7i", "g5"]}),
     "nodePools[0].elastic.instanceFamilies", "instance family 'g5' is a GPU family"),
    ("GPU type in a general pool", general_pool(instanceTypes=["m7i.large", "g6.xlarge"],
                                                elastic={"instanceFamilies": None}),
     "nodePools[0].instanceTypes", "g6.xlarge: GPU instances; a general pool never launches one"),
    ("GPU cap on a general pool", general_pool(elastic={"limits": {"gpus": 1, "cpu": "8", "memory": "32Gi"}}),
     "nodePools[0].elastic.limits.gpus", "a general pool has no GPUs to cap"),
    ("general pool without a cpu cap", general_pool(elastic={"limits": {"memory": "32Gi"}}),
     "nodePools[0].elastic.limits.cpu", "required key is missing (a general pool's cap"),
    ("general pool without a memory cap", general_pool(elastic={"limits": {"cpu": "8"}}),
     "nodePools[0].elastic.limits.memory", "required key is missing (a general pool's cap"),
    ("general cpu cap below one node", general_pool(elastic={"instanceFamilies": ["m6i"],
                                                              "limits": {"cpu": "1", "memory": "32Gi"}}),
     "nodePools[0].elastic.limits.cpu", "a cap of 1 vCPUs is smaller than one node (m6i.large: 2)"),
    ("general arch", general_pool(elastic={"instanceFamilies": ["m6i"], "architectures": ["arm64"]}),
     "nodePools[0].elastic.instanceFamilies", "no type of m6i runs on arm64"),
    ("node count", elastic_pool(scaling={"min": 0, "max": 2}), "nodePools[0].scaling", "has no node count"),
    ("node-group-only key", elastic_pool(capacityType="SPOT"), "nodePools[0].capacityType", "elastic.capacityTypes"),
    ("types and families", elastic_pool(instanceTypes=["g5.xlarge"]), "nodePools[0].instanceTypes", "not both"),
    ("unknown type", {"name": "e", "kind": "gpu", "instanceTypes": ["g9.xlarge"],
                      "elastic": {"limits": {"gpus": 1}}}, "nodePools[0].instanceTypes", "g9.xlarge: not in the"),
    ("arch without types", elastic_pool(elastic={"architectures": ["arm64"]}), "nodePools[0].elastic.instanceFamilies",
     "no GPU type of g5, g6 runs on arm64"),
    ("NodePool name", elastic_pool(name="GPU_pool"), "nodePools[0].name", "can't name a Karpenter NodePool"),
]


@pytest.mark.parametrize(("case", "pool", "key", "message"), BAD, ids=[c[0] for c in BAD])
def test_bad_elastic_config_names_its_key(case: str, pool: dict, key: str, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        config(pool)
    assert f"gpu-node-pools:{key}: " in str(raised.value)
    assert message in str(raised.value)


def test_every_bad_key_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as raised:
        config(elastic_pool(scaling={"min": 0, "max": 1}, diskSize=200, protect=True))
    keys = {key for key, _ in raised.value.problems}
    assert keys == {f"gpu-node-pools:nodePools[0].{k}" for k in ("scaling", "diskSize", "protect")}


@pytest.mark.parametrize("effect", ["PreferNoSchedule"])
def test_a_soft_gpu_taint_cannot_fence_an_elastic_pool(effect: str) -> None:
    isolation = {"gpuTaint": {"key": "nvidia.com/gpu", "value": "true", "effect": effect}}
    with pytest.raises(ConfigError, match=r"gpu-node-pools:isolation\.gpuTaint\.effect: PreferNoSchedule can't fence"):
        config(elastic_pool(), isolation=isolation)
    # A managed pool may carry it (the scheduler, not Karpenter, decides there).
    config({"name": "gpu", "kind": "gpu", "instanceTypes": ["g5.xlarge"], "scaling": {"min": 0, "max": 1}},
           isolation=isolation)


def the_node_pool(pool: dict[str, Any] | None = None, contract: IsolationContract | None = None) -> dict[str, Any]:
    cfg = config(pool or elastic_pool())
    return node_pool(cfg.node_pools[0], contract or cfg.contract, KWOK_NODE_CLASS_REF)


def requirement(obj: dict[str, Any], key: str) -> list[str] | None:
    found = [r for r in obj["spec"]["template"]["spec"]["requirements"] if r["key"] == key]
    assert len(found) <= 1
    return found[0]["values"] if found else None


@pytest.mark.parametrize(
    "taint", [Taint("nvidia.com/gpu", "true", "NoSchedule"), Taint("workload", "heavy", "NoExecute")], ids=str
)
def test_node_pool_carries_the_contract_taint_and_labels(taint: Taint) -> None:
    obj = the_node_pool(contract=IsolationContract(gpu_taint=taint))
    template = obj["spec"]["template"]
    assert template["spec"]["taints"] == [taint.to_k8s()]
    assert template["metadata"]["labels"] == {
        "gpu-node-pools.io/pool": "gpu-elastic", "gpu-node-pools.io/pool-kind": "gpu", "nvidia.com/gpu.present": "true",
    }


def test_node_pool_requirements_cap_and_disruption() -> None:
    obj = the_node_pool(elastic_pool(elastic={
        "limits": {"gpus": 8, "cpu": "96", "memory": "384Gi"}, "weight": 50, "terminationGracePeriod": "2h",
        "disruption": {"consolidateAfter": "15m", "budgets": [{"nodes": "1"}, {"nodes": "0", "schedule": "0 9 * * 1-5",
                                                                               "duration": "8h", "reasons": ["Drifted"]}]},
    }))
    assert requirement(obj, "karpenter.k8s.aws/instance-gpu-manufacturer") == ["nvidia"]
    assert requirement(obj, "karpenter.k8s.aws/instance-family") == ["g5", "g6"]
    assert requirement(obj, "karpenter.sh/capacity-type") == ["spot", "on-demand"]
    assert requirement(obj, "kubernetes.io/arch") == ["amd64"]
    assert requirement(obj, "node.kubernetes.io/instance-type") is None
    spec = obj["spec"]
    assert spec["limits"] == {"nvidia.com/gpu": "8", "cpu": "96", "memory": "384Gi"}
    assert spec["weight"] == 50
    assert spec["template"]["spec"]["terminationGracePeriod"] == "2h"
    assert spec["disruption"] == {"consolidationPolicy": "WhenEmpty", "consolidateAfter": "15m", "budgets": [
        {"nodes": "1"}, {"nodes": "0", "schedule": "0 9 * * 1-5", "duration": "8h", "reasons": ["Drifted"]}]}
    assert crd_problems(obj) == []


def test_defaults_are_gpu_sized_and_on_demand() -> None:
    obj = the_node_pool({"name": "e", "kind": "gpu", "instanceTypes": ["g6.xlarge"], "elastic": {"limits": {"gpus": 2}}})
    assert requirement(obj, "node.kubernetes.io/instance-type") == ["g6.xlarge"]
    assert requirement(obj, "karpenter.sh/capacity-type") == ["on-demand"]
    assert obj["spec"]["disruption"]["consolidateAfter"] == "10m"  # minutes, not Karpenter's 0s
    assert obj["spec"]["template"]["spec"]["expireAfter"] == "720h"
    assert "weight" not in obj["spec"] and "terminationGracePeriod" not in obj["spec"]["template"]["spec"]


@pytest.mark.parametrize(("cluster", "ref"), [(EKS, EKS_NODE_CLASS_REF), (EXISTING, KWOK_NODE_CLASS_REF)])
def test_the_layer_holds_the_node_pool_with_the_clusters_node_class(cluster: dict, ref: dict) -> None:
    objects = in_cluster_objects(config(GENERAL, elastic_pool(), cluster=cluster))
    [pool] = [o for o in objects if o["kind"] == "NodePool"]
    assert pool["spec"]["template"]["spec"]["nodeClassRef"] == dict(ref)
    assert objects[-1] is pool  # after the DaemonSets that must land on its nodes
    validate_objects([pool])


def test_a_pool_may_name_its_own_node_class() -> None:
    ref = {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "big-disks"}
    objects = in_cluster_objects(config(elastic_pool(elastic={"nodeClassRef": ref}), cluster=EKS))
    assert [o for o in objects if o["kind"] == "NodePool"][0]["spec"]["template"]["spec"]["nodeClassRef"] == ref


def test_elastic_pools_on_eks_need_karpenter() -> None:
    with pytest.raises(ConfigError) as error:
        config(elastic_pool(), cluster=EKS, karpenter={"enabled": False})
    assert "gpu-node-pools:karpenter.enabled" in str(error.value)
    assert "elastic pools gpu-elastic need Karpenter" in str(error.value)


def test_karpenter_needs_a_managed_general_pool_an_elastic_one_is_no_home() -> None:
    """Its controller never runs on a node it launches: an elastic general pool can't hold it."""
    with pytest.raises(ConfigError) as error:
        parse_platform_config({"cluster": EKS, "nodePools": [general_pool()], "nodeAgent": AGENT,
                               "karpenter": {"enabled": True}}, "stack.yaml")
    assert "gpu-node-pools:karpenter.enabled: Karpenter's controller runs on a general managed node pool" in str(
        error.value)


def test_a_soft_gpu_taint_does_not_concern_a_general_pool() -> None:
    """PreferNoSchedule is refused for elastic GPU pools only: a general pool carries no GPU taint."""
    isolation = {"gpuTaint": {"key": "nvidia.com/gpu", "value": "true", "effect": "PreferNoSchedule"}}
    assert config(general_pool(), isolation=isolation).elastic_pools[0].kind == "general"


def test_schema_check_catches_a_misspelt_field() -> None:
    obj = the_node_pool()
    obj["spec"]["disruption"]["consolidateAfterr"] = "1m"
    assert any("consolidateAfterr" in p for p in crd_problems(obj))


# The local Karpenter's instance types ------------------------------------------------------------------------------


def offered(types: list[dict[str, Any]], obj: dict[str, Any]) -> set[tuple[str, str]]:
    """(type, capacity type) pairs the NodePool's requirements admit: Karpenter's rules for In, NotIn and
    DoesNotExist, on offering labels."""
    requirements = obj["spec"]["template"]["spec"]["requirements"]
    wanted = {r["key"]: set(r["values"]) for r in requirements if r["operator"] == "In"}
    unwanted = {r["key"]: set(r["values"]) for r in requirements if r["operator"] == "NotIn"}
    absent = {r["key"] for r in requirements if r["operator"] == "DoesNotExist"}
    found = set()
    for it in types:
        for offering in it["offerings"]:
            labels = {r["key"]: r["values"][0] for r in offering["Requirements"]}
            labels |= {"node.kubernetes.io/instance-type": it["name"], "kubernetes.io/arch": it["architecture"],
                       "kubernetes.io/os": "linux"}
            if all(labels.get(key) in values for key, values in wanted.items()) and not absent & set(labels) and not any(
                    labels.get(key) in values for key, values in unwanted.items()):
                found.add((it["name"], labels["karpenter.sh/capacity-type"]))
    return found


def test_local_instance_types_come_from_the_table() -> None:
    types = {t["name"]: t for t in kwok_instance_types()}
    assert set(types) == set(INSTANCE_TYPES)
    g5 = types["g5.12xlarge"]
    assert g5["resources"] == {"cpu": "48", "memory": "196608Mi", "pods": "110", "ephemeral-storage": "200Gi",
                               "nvidia.com/gpu": "4"}
    prices = {(o["Requirements"][0]["values"][0], o["Requirements"][1]["values"][0]): o["Price"] for o in g5["offerings"]}
    assert prices == {(c, z): p for z in LOCAL_ZONES for c, p in (("on-demand", 5.672), ("spot", 2.2688))}
    assert "nvidia.com/gpu" not in types["m6i.large"]["resources"]
    assert types["g5g.xlarge"]["architecture"] == "arm64"


def test_the_local_node_pool_admits_exactly_the_pools_types() -> None:
    """The NodePool's requirements, matched against the local offerings' labels, admit the GPU types of its families
    and nothing else: the AWS label keys work locally as on EKS."""
    obj = the_node_pool()
    admitted = offered(kwok_instance_types(), obj)
    expected = {t.name for t in INSTANCE_TYPES.values() if t.family in ("g5", "g6")}
    assert {name for name, _ in admitted} == expected
    assert {cap for _, cap in admitted} == {"spot", "on-demand"}
    # On-demand only: no spot offering admitted.
    on_demand = the_node_pool(elastic_pool(elastic={"capacityTypes": ["on-demand"]}))
    assert {cap for _, cap in offered(kwok_instance_types(), on_demand)} == {"on-demand"}


# Elastic general pools --------------------------------------------------------------------------------------------


def test_a_general_node_pool_has_no_taint_no_gpu_and_packs_nodes() -> None:
    obj = the_node_pool(general_pool())
    template = obj["spec"]["template"]
    assert template["spec"]["taints"] == []
    assert template["metadata"]["labels"] == {
        "gpu-node-pools.io/pool": "general-elastic", "gpu-node-pools.io/pool-kind": "general"}
    # Never a GPU instance, as a requirement Karpenter itself enforces (the label only GPU types carry).
    assert {"key": "karpenter.k8s.aws/instance-gpu-count", "operator": "DoesNotExist"} in template["spec"]["requirements"]
    assert requirement(obj, "karpenter.k8s.aws/instance-gpu-manufacturer") is None
    assert requirement(obj, "karpenter.k8s.aws/instance-family") == ["m6i", "m7i"]
    assert obj["spec"]["limits"] == {"cpu": "64", "memory": "256Gi"}
    # General nodes are cheap to replace: pack them (move pods off underused nodes) after a short settle.
    assert obj["spec"]["disruption"] == {"consolidationPolicy": "WhenEmptyOrUnderutilized", "consolidateAfter": "1m",
                                         "budgets": [{"nodes": "10%"}]}
    assert crd_problems(obj) == []


def test_a_general_pool_may_choose_its_own_disruption() -> None:
    obj = the_node_pool(general_pool(elastic={"disruption": {"consolidationPolicy": "WhenEmpty",
                                                             "consolidateAfter": "5m"}}))
    assert obj["spec"]["disruption"]["consolidationPolicy"] == "WhenEmpty"
    assert obj["spec"]["disruption"]["consolidateAfter"] == "5m"


def test_the_local_general_node_pool_admits_only_cpu_types_even_without_its_family_requirement() -> None:
    """Its families admit their CPU types; with the family requirement gone, the GPU-count rule alone still admits
    no GPU type: the fence does not rest on the families the config checked."""
    obj = the_node_pool(general_pool())
    admitted = {name for name, _ in offered(kwok_instance_types(), obj)}
    assert admitted == {t.name for t in INSTANCE_TYPES.values() if t.family in ("m6i", "m7i")}
    requirements = obj["spec"]["template"]["spec"]["requirements"]
    obj["spec"]["template"]["spec"]["requirements"] = [
        r for r in requirements if r["key"] != "karpenter.k8s.aws/instance-family"]
    admitted = {name for name, _ in offered(kwok_instance_types(), obj)}
    assert admitted == {t.name for t in INSTANCE_TYPES.values() if not t.is_gpu and t.arch == "x86_64"}


def test_the_gpu_node_pool_admits_no_cpu_type() -> None:
    admitted = {name for name, _ in offered(kwok_instance_types(), the_node_pool())}
    assert admitted and all(INSTANCE_TYPES[name].is_gpu for name in admitted)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_eks_stacks_ship_a_static_general_pool_and_an_elastic_one(stack: str) -> None:
    cfg = load_stack(stack)
    managed = {p.name: p for p in cfg.managed_pools}
    elastic = {p.name: p for p in cfg.elastic_pools}
    assert managed["general"].kind == "general" and elastic["general-elastic"].kind == "general"
    assert elastic["general-elastic"].elastic.limits.cpu and elastic["general-elastic"].elastic.limits.memory
    pools = {o["metadata"]["name"]: o for o in in_cluster_objects(cfg) if o["kind"] == "NodePool"}
    assert pools["general-elastic"]["spec"]["template"]["spec"]["taints"] == []
    validate_objects(list(pools.values()))
    if stack == "dev":  # GPU capacity on dev is elastic only
        assert not [p for p in cfg.managed_pools if p.is_gpu]
        assert [p.name for p in cfg.elastic_pools if p.is_gpu] == ["gpu-elastic"]


def test_the_pools_table_shows_each_elastic_pools_kind_and_cap() -> None:
    from gpu_node_pools.pools_table import pools_table

    lines = pools_table(load_stack("prod")).splitlines()
    header = next(line for line in lines if line.startswith("ELASTIC POOL"))
    assert header.split()[:8] == ["ELASTIC", "POOL", "KIND", "INSTANCES", "CAPACITY", "CAP", "SHARING", "CONSOLIDATION"]
    general = next(line for line in lines if line.startswith("general-elastic "))
    assert general.split()[1:5] == ["general", "m7i,m6i", "on-demand", "cpu=64,memory=256Gi"]
    assert "WhenEmptyOrUnderutilized after 1m" in general and general.endswith("<none>")
    burst = next(line for line in lines if line.startswith("gpu-burst "))
    assert "gpus=8" in burst and burst.endswith("nvidia.com/gpu=true:NoSchedule")
