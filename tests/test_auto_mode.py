"""cluster.mode eks-auto: the Auto Mode cluster (CreateCluster fields and IAM checked against botocore's EKS model),
nothing declared that Auto Mode runs itself, every such key refused by name, and our pools as Auto Mode NodePools
booting from our NodeClass (checked against Karpenter's NodePool CRD and the NodeClass API reference)."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from eks_model import eks_input_shape, eks_problems
from k8s_schema import crd_problems

from gpu_node_pools.aws.auto_mode import (
    auto_mode_cluster_fields,
    node_access_entry_request,
    node_access_policy_request,
)
from gpu_node_pools.aws.cluster import create_cluster_request
from gpu_node_pools.config.auto_mode import AUTO_MODE_INSTANCE_FAMILIES, auto_mode_offer_problem
from gpu_node_pools.config.platform import ConfigError, parse_platform_config
from gpu_node_pools.config.stack_files import load_stack
from gpu_node_pools.facts.instance_types import INSTANCE_TYPES
from gpu_node_pools.manifests.karpenter import EKS_NODE_CLASS_REF, node_pool
from gpu_node_pools.manifests.kwok_instance_types import kwok_instance_types
from gpu_node_pools.mock_engine import DeclaredResource, declare_platform
from gpu_node_pools.parts import in_cluster_objects
from k8s_objects import one, pod_spec

ROOT = Path(__file__).resolve().parents[1]
NODE_CLASS_SCHEMA = json.loads((ROOT / "tests" / "data" / "eks-auto-mode-nodeclass.schema.json").read_text())
AUTO = {"mode": "eks-auto", "name": "gpu-auto", "subnetIds": ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"],
        "publicAccessCidrs": ["198.51.100.0/24"]}
GPU = {"name": "gpu", "kind": "gpu", "elastic": {"instanceFamilies": ["g6"], "limits": {"gpus": 4}}}
GENERAL = {"name": "general", "kind": "general",
           "elastic": {"instanceFamilies": ["m7i"], "limits": {"cpu": "32", "memory": "128Gi"}}}
AGENT = {"image": "registry.example.com/gpu-node-agent:0.1.0"}
ROLE_ARN = "arn:aws:iam::111122223333:role/gpu-auto-node"


def config(cluster: dict[str, Any] | None = None, pools: list[dict[str, Any]] | None = None, **extra: Any):
    return parse_platform_config({"cluster": cluster or AUTO, "nodePools": [GENERAL, GPU] if pools is None else pools,
                                  "nodeAgent": AGENT, **extra}, "stack.yaml")


BAD = [
    ("our Karpenter", {"karpenter": {"enabled": True}}, "karpenter.enabled", "EKS Auto Mode runs Karpenter itself"),
    ("managed add-ons", {"cluster": {**AUTO, "addons": {"coredns": {"version": "v1.11.4-eksbuild.2"}}}}, "cluster.addons",
     "runs vpc-cni, kube-proxy and CoreDNS itself"),
    ("our device plugin", {"devicePlugin": {"enabled": True}}, "devicePlugin.enabled",
     "ships the NVIDIA device plugin"),
    ("GPU sharing", {"devicePlugin": {"timeSlicing": {"replicas": 4}}}, "devicePlugin.timeSlicing",
     "GPU sharing (time-slicing) is not available under eks-auto"),
    ("a managed node group", {"pools": [GENERAL, {"name": "gpu", "kind": "gpu", "instanceTypes": ["g6.xlarge"],
                                                  "scaling": {"min": 0, "max": 2}}]},
     "nodePools[1].elastic", "under eks-auto every pool is an Auto Mode NodePool"),
    ("GPU sharing per pool", {"pools": [GENERAL, {**GPU, "sharing": {"timeSlicing": {"replicas": 4}}}]},
     "nodePools[1].sharing", "GPU sharing (time-slicing, MPS, MIG) is not available under eks-auto"),
    ("a tag Auto Mode sets", {"cluster": {**AUTO, "autoMode": {"nodeClass": {"tags": {"eks:cluster-name": "x"}}}}},
     "cluster.autoMode.nodeClass.tags", "set by Auto Mode itself"),
    ("a small ephemeral volume", {"cluster": {**AUTO, "autoMode": {"nodeClass": {"ephemeralStorageSize": 20}}}},
     "cluster.autoMode.nodeClass.ephemeralStorageSize", "20 GiB"),
    ("an unknown built-in pool", {"cluster": {**AUTO, "autoMode": {"builtinNodePools": ["gpu"]}}},
     "cluster.autoMode.builtinNodePools[0]", "'gpu' is not allowed"),
    # g6f (fractional L4) runs on AL2023 NVIDIA nodes but is not in Auto Mode's supported instance reference.
    ("a family Auto Mode doesn't offer", {"pools": [GENERAL, {**GPU, "elastic": {**GPU["elastic"],
                                                                                 "instanceFamilies": ["g6", "g6f"]}}]},
     "nodePools[1].elastic.instanceFamilies", "EKS Auto Mode does not offer instance family 'g6f'"),
    ("a device the agent can't ask for by mount", {"nodeAgent": {**AGENT, "nvidiaVisibleDevices": "0:1"}},
     "nodeAgent.nvidiaVisibleDevices", "'0:1': on EKS Auto Mode the agent asks for GPUs by mount"),
    ("a size Auto Mode doesn't launch", {"pools": [{"name": "general", "kind": "general", "instanceTypes": [
        "t3.medium", "t3.small"], "elastic": {"limits": {"cpu": "32", "memory": "128Gi"}}}, GPU]},
     "nodePools[0].instanceTypes", "EKS Auto Mode launches no small instances ('t3.small'"),
]


@pytest.mark.parametrize(("case", "changes", "key", "message"), BAD, ids=[c[0] for c in BAD])
def test_what_auto_mode_runs_or_cannot_configure_is_refused_by_key(case: str, changes: dict, key: str,
                                                                   message: str) -> None:
    changes = dict(changes)
    with pytest.raises(ConfigError) as raised:
        config(changes.pop("cluster", None), changes.pop("pools", None), **changes)
    assert f"gpu-node-pools:{key}: " in str(raised.value), str(raised.value)
    assert message in str(raised.value)


@pytest.mark.parametrize(("name", "offered"), [
    ("g6", True), ("g6e.xlarge", True), ("p5.48xlarge", True), ("m7i-flex", True), ("t3.medium", True),
    ("g6f", False), ("p6e-gb200", False), ("g3", False), ("t3.small", False), ("t3a.micro", False), ("t2.nano", False),
])
def test_auto_modes_instance_rules(name: str, offered: bool) -> None:
    assert (auto_mode_offer_problem(name) is None) is offered


def test_the_same_pools_pass_outside_auto_mode_checks_and_the_tables_families_are_all_offered() -> None:
    """The check is Auto Mode's own: under eks a family the table lacks gets the table's message instead. Every
    family the instance-type table knows is offered, and no type has one vCPU (AWS's third rule, which
    auto_mode_offer_problem leaves to the table)."""
    eks = {**AUTO, "mode": "eks"}
    with pytest.raises(ConfigError) as raised:
        config(eks, [{"name": "sys", "kind": "general", "instanceTypes": ["m6i.large"], "scaling": {"min": 2, "max": 2}},
                     {**GPU, "elastic": {**GPU["elastic"], "instanceFamilies": ["g6f"]}}], karpenter={"enabled": True})
    assert "unknown instance family 'g6f'" in str(raised.value) and "Auto Mode" not in str(raised.value)
    assert {t.family for t in INSTANCE_TYPES.values()} <= AUTO_MODE_INSTANCE_FAMILIES
    assert min(t.vcpu for t in INSTANCE_TYPES.values()) > 1


# The node agent: NVML on Auto Mode's Bottlerocket nodes without a GPU request ----------------------------------------


def agent_spec(cfg) -> dict[str, Any]:
    return pod_spec([one(in_cluster_objects(cfg), "DaemonSet", "gpu-node-agent")])


def test_the_agent_asks_for_gpus_by_dev_null_mount_under_auto_mode_and_by_variable_elsewhere() -> None:
    """Bottlerocket's runtime for Kubernetes (Auto Mode's nodes) ignores NVIDIA_VISIBLE_DEVICES from unprivileged
    containers and accepts /dev/null mounts under /var/run/nvidia-container-devices; the other modes keep the
    variable (AL2023 NVIDIA nodes accept it). Either way: no GPU requested, not privileged, non-root, and on every
    GPU node through the isolation contract."""
    auto = config()
    eks = config({**AUTO, "mode": "eks"}, pools=[
        {"name": "sys", "kind": "general", "instanceTypes": ["m6i.large"], "scaling": {"min": 2, "max": 2}},
        GENERAL, GPU], karpenter={"enabled": True})
    on_auto, on_eks = agent_spec(auto), agent_spec(eks)
    (agent,), (plain,) = on_auto["containers"], on_eks["containers"]
    volumes = {v["name"]: v for v in on_auto["volumes"]}
    [request] = [m for m in agent["volumeMounts"] if "hostPath" in volumes[m["name"]]]
    assert request == {"name": request["name"], "mountPath": "/var/run/nvidia-container-devices/all", "readOnly": True}
    assert volumes[request["name"]]["hostPath"] == {"path": "/dev/null", "type": "CharDevice"}
    variables = {e["name"]: e.get("value") for e in agent["env"]}
    assert "NVIDIA_VISIBLE_DEVICES" not in variables and variables["NVIDIA_DRIVER_CAPABILITIES"] == "utility"
    assert {e["name"]: e.get("value") for e in plain["env"]}["NVIDIA_VISIBLE_DEVICES"] == "all"
    assert not any("hostPath" in v for v in on_eks["volumes"])
    for spec, container in ((on_auto, agent), (on_eks, plain)):
        assert "nvidia.com/gpu" not in json.dumps(container["resources"])
        assert not container["securityContext"].get("privileged")
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert auto.contract.tolerates_gpu_taint(spec["tolerations"])
    assert on_auto["affinity"] == on_eks["affinity"] and on_auto["tolerations"] == on_eks["tolerations"]
    namespace = one(in_cluster_objects(auto), "Namespace", "gpu-node-agent")["metadata"]["labels"]
    assert namespace["pod-security.kubernetes.io/enforce"] == "privileged"
    assert namespace["pod-security.kubernetes.io/warn"] == "restricted"


# The CreateCluster request and IAM, against botocore's EKS model ---------------------------------------------------


@pytest.mark.parametrize("builtin", [[], ["system"], ["system", "general-purpose"]])
def test_the_create_cluster_request_enables_all_three_capabilities_and_is_valid(builtin: list[str]) -> None:
    cluster = config({**AUTO, "autoMode": {"builtinNodePools": builtin}}).cluster
    request = create_cluster_request(cluster, role_arn="arn:aws:iam::111122223333:role/c", kms_key_arn=(
        "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"),
        endpoint_security_group_id="sg-0123456789abcdef0")
    request |= auto_mode_cluster_fields(cluster.auto_mode, node_role_arn=ROLE_ARN)
    assert eks_problems("CreateCluster", request) == []
    assert request["computeConfig"]["enabled"] is True and request["computeConfig"]["nodePools"] == builtin
    # EKS requires compute, load balancing and block storage enabled together.
    assert request["kubernetesNetworkConfig"]["elasticLoadBalancing"] == {"enabled": True}
    assert request["storageConfig"]["blockStorage"] == {"enabled": True}
    assert request["bootstrapSelfManagedAddons"] is False
    # The built-in pools need the node role; with none, EKS refuses one (our NodeClass names it instead).
    assert ("nodeRoleArn" in request["computeConfig"]) is bool(builtin)


def test_the_node_access_entry_is_of_type_ec2_with_the_auto_node_policy() -> None:
    entry = node_access_entry_request("gpu-auto", ROLE_ARN)
    association = node_access_policy_request("gpu-auto", ROLE_ARN)
    assert eks_problems("CreateAccessEntry", entry) == []
    assert eks_problems("AssociateAccessPolicy", association) == []
    # The model types `type` as a plain string and lists the values in its documentation.
    documented = re.findall(r"<code>([A-Z_0-9]+)</code>", eks_input_shape("CreateAccessEntry").members["type"].documentation)
    assert entry["type"] == "EC2" and "EC2" in documented
    assert association["policyArn"].endswith("cluster-access-policy/AmazonEKSAutoNodePolicy")


def declared(cfg) -> list[DeclaredResource]:
    return declare_platform(cfg, "auto", ROOT)


def of_type(resources: list[DeclaredResource], typ: str) -> list[DeclaredResource]:
    return [r for r in resources if r.type == typ]


@pytest.fixture(scope="module")
def auto_stack() -> list[DeclaredResource]:
    return declared(config())


def test_the_cluster_is_declared_in_auto_mode_with_its_roles(auto_stack: list[DeclaredResource]) -> None:
    [cluster] = of_type(auto_stack, "aws:eks/cluster:Cluster")
    inputs = cluster.inputs
    assert inputs["computeConfig"]["enabled"] is True and inputs["computeConfig"]["nodePools"] == ["system"]
    assert inputs["computeConfig"]["nodeRoleArn"]
    assert inputs["kubernetesNetworkConfig"]["elasticLoadBalancing"]["enabled"] is True
    assert inputs["storageConfig"]["blockStorage"]["enabled"] is True
    roles = {r.name: json.loads(r.inputs["assumeRolePolicy"]) for r in of_type(auto_stack, "aws:iam/role:Role")}
    cluster_trust = roles["auto-cluster"]["Statement"][0]
    assert cluster_trust["Principal"] == {"Service": "eks.amazonaws.com"}
    assert sorted(cluster_trust["Action"]) == ["sts:AssumeRole", "sts:TagSession"]
    policies: dict[str, set[str]] = {}
    for a in of_type(auto_stack, "aws:iam/rolePolicyAttachment:RolePolicyAttachment"):
        policies.setdefault(a.inputs["role"], set()).add(a.inputs["policyArn"].rsplit("/", 1)[1])
    assert policies["auto-cluster"] == {"AmazonEKSClusterPolicy", "AmazonEKSComputePolicy", "AmazonEKSBlockStoragePolicy",
                                        "AmazonEKSLoadBalancingPolicy", "AmazonEKSNetworkingPolicy"}
    assert policies["auto-auto-node"] == {"AmazonEKSWorkerNodeMinimalPolicy", "AmazonEC2ContainerRegistryPullOnly"}
    # With a built-in pool EKS creates the node role's access entry itself: a second one would fail. The one
    # entry declared is the deployer's own.
    [creator] = of_type(auto_stack, "aws:eks/accessEntry:AccessEntry")
    assert creator.name == "auto-creator-admin" and creator.inputs["type"] == "STANDARD"


def test_nothing_auto_mode_runs_is_declared(auto_stack: list[DeclaredResource]) -> None:
    types = {r.type for r in auto_stack}
    assert not types & {"aws:eks/addon:Addon", "aws:eks/nodeGroup:NodeGroup", "aws:sqs/queue:Queue",
                        "aws:eks/podIdentityAssociation:PodIdentityAssociation", "aws:ec2/launchTemplate:LaunchTemplate",
                        "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass", "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition"}
    workloads = {r.inputs["metadata"]["name"] for r in auto_stack
                 if r.type in ("kubernetes:apps/v1:DaemonSet", "kubernetes:apps/v1:Deployment")}
    assert workloads == {"gpu-node-agent", "metrics-server"}, "no device plugin, no Karpenter controller"
    # What stays ours: priority classes, tenants, the node class and pools.
    assert of_type(auto_stack, "kubernetes:scheduling.k8s.io/v1:PriorityClass")
    [node_class] = of_type(auto_stack, "kubernetes:eks.amazonaws.com/v1:NodeClass")
    assert node_class.inputs["spec"]["role"] == "auto-auto-node"  # the node role the stack created, by name
    assert {r.inputs["metadata"]["name"] for r in of_type(auto_stack, "kubernetes:karpenter.sh/v1:NodePool")} == {
        "general", "gpu"}


def test_without_built_in_pools_our_node_role_gets_its_ec2_access_entry() -> None:
    resources = declared(config({**AUTO, "autoMode": {"builtinNodePools": []}}))
    [cluster] = of_type(resources, "aws:eks/cluster:Cluster")
    assert cluster.inputs["computeConfig"]["nodePools"] == [] and not cluster.inputs["computeConfig"].get("nodeRoleArn")
    [entry] = [e for e in of_type(resources, "aws:eks/accessEntry:AccessEntry") if e.inputs["type"] == "EC2"]
    assert entry.name == "auto-auto-node-access"
    [association] = [a for a in of_type(resources, "aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
                     if a.name == "auto-auto-node-access-policy"]
    assert association.inputs["policyArn"].endswith("/AmazonEKSAutoNodePolicy")
    assert association.inputs["accessScope"] == {"type": "cluster"}


# The NodeClass and NodePools ---------------------------------------------------------------------------------------


def objects_of(kind: str, cfg=None) -> list[dict[str, Any]]:
    return [o for o in in_cluster_objects(cfg or config()) if o["kind"] == kind]


def test_the_node_class_matches_its_api_reference_and_selects_by_id() -> None:
    [node_class] = objects_of("NodeClass")
    jsonschema.validate(node_class, NODE_CLASS_SCHEMA)
    spec = node_class["spec"]
    assert spec["subnetSelectorTerms"] == [{"id": s} for s in AUTO["subnetIds"]]
    assert len(spec["securityGroupSelectorTerms"]) == 1 and set(spec["securityGroupSelectorTerms"][0]) == {"id"}
    assert spec["ephemeralStorage"] == {"size": "200Gi"}, "sized for GPU images, not Auto Mode's 80Gi"
    misspelt = {**node_class, "spec": {**spec, "ephemeralStorge": {"size": "1Gi"}}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(misspelt, NODE_CLASS_SCHEMA)


def test_the_node_pools_use_auto_modes_label_keys_and_keep_the_contract() -> None:
    auto_pools = {o["metadata"]["name"]: o for o in objects_of("NodePool")}
    eks = config({"mode": "eks", **{k: v for k, v in AUTO.items() if k != "mode"}},
                 pools=[{"name": "sys", "kind": "general", "instanceTypes": ["m6i.large"], "scaling": {"min": 2, "max": 2}},
                        GENERAL, GPU], karpenter={"enabled": True})
    for pool in eks.elastic_pools:
        auto, ec2 = copy.deepcopy(auto_pools[pool.name]), node_pool(pool, eks.contract, EKS_NODE_CLASS_REF)
        assert crd_problems(auto) == []
        assert auto["spec"]["template"]["spec"]["nodeClassRef"] == {
            "group": "eks.amazonaws.com", "kind": "NodeClass", "name": "gpu-node-pools"}
        keys = [r["key"] for r in auto["spec"]["template"]["spec"]["requirements"]]
        assert not [k for k in keys if k.startswith("karpenter.k8s.aws/")]
        # Everything but the label keys and the node class is the EKS mode's NodePool.
        for obj in (auto, ec2):
            del obj["spec"]["template"]["spec"]["nodeClassRef"]
            for r in obj["spec"]["template"]["spec"]["requirements"]:
                r["key"] = r["key"].split("/")[-1]
        assert auto == ec2
    gpu_keys = {r["key"]: r for r in auto_pools["gpu"]["spec"]["template"]["spec"]["requirements"]}
    assert gpu_keys["eks.amazonaws.com/instance-gpu-manufacturer"]["values"] == ["nvidia"]
    assert gpu_keys["eks.amazonaws.com/instance-family"]["values"] == ["g6"]
    general_keys = {r["key"]: r for r in auto_pools["general"]["spec"]["template"]["spec"]["requirements"]}
    assert general_keys["eks.amazonaws.com/instance-gpu-count"]["operator"] == "DoesNotExist"


def test_local_instance_types_carry_auto_modes_keys_too() -> None:
    g6 = next(t for t in kwok_instance_types() if t["name"] == "g6.xlarge")
    labels = {r["key"]: r["values"] for r in g6["offerings"][0]["Requirements"]}
    assert labels["eks.amazonaws.com/instance-family"] == labels["karpenter.k8s.aws/instance-family"] == ["g6"]
    assert labels["eks.amazonaws.com/instance-gpu-count"] == ["1"]


def test_the_auto_stack_file_renders_and_lists_its_pools() -> None:
    cfg = load_stack("auto")
    assert cfg.auto_mode and not cfg.managed_pools
    kinds = [o["kind"] for o in in_cluster_objects(cfg)]
    assert kinds.count("NodeClass") == 1 and kinds.count("NodePool") == 2
    assert kinds.index("NodeClass") < kinds.index("NodePool")
