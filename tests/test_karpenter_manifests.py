"""Karpenter's Kubernetes objects: the controller (the chart's, least privilege, kept on general managed nodes),
the EC2NodeClass (IMDSv2, encrypted gp3, subnets and security group by id), the CRDs, and the GPU daemons landing
on Karpenter's GPU nodes exactly as on managed ones. Schemas and locked-down containers: test_object_builders.py."""

from __future__ import annotations

from typing import Any

import pytest
from gpu_node_pools.config.device_plugin import DevicePluginConfig
from gpu_node_pools.config.karpenter import (
    EC2_NODE_CLASS_NAME,
    EC2_NODE_CLASS_REF,
    KarpenterConfig,
    NodeClassConfig,
)
from gpu_node_pools.config.node_agent import NodeAgentConfig
from gpu_node_pools.config.stack_files import load_stack
from gpu_node_pools.contract import POOL_KIND_LABEL, IsolationContract, Taint
from gpu_node_pools.manifests.device_plugin import build_device_plugin
from gpu_node_pools.manifests.ec2_node_class import build_ec2_node_class
from gpu_node_pools.parts import (
    INSTANCE_PROFILE_PLACEHOLDER,
    in_cluster_objects,
    karpenter_objects,
)
from gpu_node_pools.manifests.karpenter_controller import (
    KARPENTER_NODEPOOL_LABEL,
    build_karpenter_controller,
)
from gpu_node_pools.manifests.karpenter_crds import (
    KARPENTER_CRD_FILES,
    crd_folder,
    karpenter_crds,
)
from gpu_node_pools.manifests.node_agent import build_node_agent
from k8s_objects import one, pod_spec
from k8s_schema import crd_schema_problems, validate_objects

ON = KarpenterConfig(enabled=True)
CRDS = karpenter_crds()


def controller(config: KarpenterConfig = ON, queue: str | None = "gpu-prod-karpenter") -> list[dict[str, Any]]:
    return build_karpenter_controller(config, cluster_name="gpu-prod", interruption_queue=queue)


def env(deployment: dict[str, Any]) -> dict[str, Any]:
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


# --- scheduling, as the scheduler decides it (required node affinity, nodeSelector, taints) ---------------------
def _expression_holds(expression: dict[str, Any], labels: dict[str, str]) -> bool:
    key, operator = expression["key"], expression["operator"]
    if operator == "In":
        return labels.get(key) in expression["values"]
    if operator == "NotIn":
        return labels.get(key) not in expression["values"]
    if operator == "Exists":
        return key in labels
    if operator == "DoesNotExist":
        return key not in labels
    raise AssertionError(f"operator {operator} not modelled")


def _tolerated(taint: Taint, tolerations: list[dict[str, Any]]) -> bool:
    for t in tolerations:
        if t.get("effect") and t["effect"] != taint.effect:
            continue
        if t.get("operator") == "Exists" and t.get("key", "") in ("", taint.key):
            return True
        if t.get("key") == taint.key and t.get("value", "") == taint.value:
            return True
    return False


def schedules(pod: dict[str, Any], labels: dict[str, str], taints: list[Taint]) -> bool:
    if any(labels.get(k) != v for k, v in pod.get("nodeSelector", {}).items()):
        return False
    required = pod.get("affinity", {}).get("nodeAffinity", {}).get("requiredDuringSchedulingIgnoredDuringExecution")
    if required and not any(all(_expression_holds(e, labels) for e in term.get("matchExpressions", []))
                            for term in required["nodeSelectorTerms"]):
        return False
    hard = [t for t in taints if t.effect in ("NoSchedule", "NoExecute")]
    return all(_tolerated(t, pod.get("tolerations", [])) for t in hard)


def karpenter_gpu_node(contract: IsolationContract) -> tuple[dict[str, str], list[Taint]]:
    """A registered node of an elastic GPU pool: the NodePool's template labels and taint (the contract's, as for a
    managed pool) plus the labels Karpenter and the EC2 provider stamp on every node they launch."""
    labels = {
        **contract.node_labels("gpu-elastic", gpu=True),
        KARPENTER_NODEPOOL_LABEL: "gpu-elastic",
        "karpenter.sh/capacity-type": "spot",
        "karpenter.sh/registered": "true",
        "karpenter.sh/initialized": "true",
        "karpenter.k8s.aws/ec2nodeclass": EC2_NODE_CLASS_NAME,
        "karpenter.k8s.aws/instance-gpu-manufacturer": "nvidia",
        "node.kubernetes.io/instance-type": "g6.xlarge",
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
    }
    return labels, contract.node_taints(gpu=True)


def managed_node(contract: IsolationContract, *, gpu: bool) -> tuple[dict[str, str], list[Taint]]:
    labels = {**contract.node_labels("gpu" if gpu else "general", gpu=gpu), "kubernetes.io/os": "linux"}
    return labels, contract.node_taints(gpu=gpu)


CONTRACTS = [IsolationContract(), IsolationContract(Taint("example.com/accelerator", "", "NoExecute"))]


@pytest.mark.parametrize("contract", CONTRACTS, ids=str)
def test_gpu_daemons_land_on_karpenter_gpu_nodes_as_on_managed_ones(contract: IsolationContract) -> None:
    daemons = {
        "device plugin": pod_spec(build_device_plugin(DevicePluginConfig(), contract), "DaemonSet"),
        "node agent": pod_spec(build_node_agent(NodeAgentConfig(image="agent:1"), contract), "DaemonSet"),
    }
    for name, spec in daemons.items():
        assert schedules(spec, *managed_node(contract, gpu=True)), name
        assert schedules(spec, *karpenter_gpu_node(contract)), name
        assert not schedules(spec, *managed_node(contract, gpu=False)), name


def test_controller_runs_on_general_managed_nodes_only() -> None:
    contract = IsolationContract()
    spec = pod_spec(controller(), "Deployment")
    assert schedules(spec, *managed_node(contract, gpu=False))
    assert not schedules(spec, *managed_node(contract, gpu=True))
    assert not schedules(spec, *karpenter_gpu_node(contract))
    # Not even a general node Karpenter launched: the controller must never run on a node it may delete.
    general, _ = managed_node(contract, gpu=False)
    assert not schedules(spec, {**general, KARPENTER_NODEPOOL_LABEL: "general-elastic"}, [])
    assert {"key": POOL_KIND_LABEL, "operator": "In", "values": ["general"]} in (
        spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0][
            "matchExpressions"])


# --- the controller ---------------------------------------------------------------------------------------------
def test_controller_is_the_charts_in_kube_system() -> None:
    objects = controller()
    assert [o["kind"] for o in objects] == [
        "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "ClusterRole", "ClusterRoleBinding", "Role",
        "RoleBinding", "Role", "RoleBinding", "Service", "Deployment", "PodDisruptionBudget"]
    assert {o["metadata"].get("namespace") for o in objects if o["kind"] not in ("ClusterRole",
                                                                                 "ClusterRoleBinding")} == {"kube-system"}
    account = one(objects, "ServiceAccount")
    assert account["metadata"]["name"] == "karpenter"  # the Pod Identity association's service account
    assert account["automountServiceAccountToken"] is False
    assert "annotations" not in account["metadata"]  # Pod Identity: no IRSA role annotation
    deployment = one(objects, "Deployment")
    spec = deployment["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    assert container["image"] == "public.ecr.aws/karpenter/controller:1.15.0"
    assert container["resources"] == {"requests": {"cpu": "1", "memory": "1Gi", "ephemeral-storage": "32Mi"},
                                      "limits": {"cpu": "1", "memory": "1Gi", "ephemeral-storage": "128Mi"}}
    assert spec["serviceAccountName"] == "karpenter"
    assert spec["priorityClassName"] == "system-cluster-critical"
    assert deployment["spec"]["replicas"] == 2
    assert one(objects, "PodDisruptionBudget")["spec"]["maxUnavailable"] == 1


def test_controller_settings() -> None:
    settings = env(one(controller(), "Deployment"))
    assert settings["CLUSTER_NAME"] == "gpu-prod"
    assert settings["INTERRUPTION_QUEUE"] == "gpu-prod-karpenter"
    assert "ReservedCapacity=true" in settings["FEATURE_GATES"]
    assert "INTERRUPTION_QUEUE" not in env(one(controller(queue=None), "Deployment"))


def test_controller_image_can_be_pinned_by_digest() -> None:
    digest = "sha256:" + "a" * 64
    config = KarpenterConfig(enabled=True, controller={"imageDigest": digest})
    (container,) = pod_spec(controller(config), "Deployment")["containers"]
    assert container["image"] == f"public.ecr.aws/karpenter/controller:1.15.0@{digest}"


def test_controller_rbac_is_least_privilege() -> None:
    objects = controller()
    rules = [r for o in objects if o["kind"] in ("ClusterRole", "Role") for r in o["rules"]]
    writes = [(g, res, v) for r in rules for g in r["apiGroups"] for res in r["resources"] for v in r["verbs"]
              if v not in ("get", "list", "watch")]
    assert not any(v in ("*", "escalate", "bind", "impersonate") or res == "*" for _, res, v in writes)
    assert not any(res == "secrets" for _, res, _ in writes)
    # No role lets others create GPU capacity (the chart's aggregate-to-admin role is left out).
    assert not any("aggregate-to-admin" in str(o["metadata"].get("labels")) for o in objects)
    leases = [r for r in rules if r["resources"] == ["leases"] and "update" in r["verbs"]]
    assert leases and all(r["resourceNames"] == ["karpenter-leader-election"] for r in leases)


def test_disabled_means_no_objects() -> None:
    assert controller(KarpenterConfig()) == []


# --- the EC2NodeClass -------------------------------------------------------------------------------------------
SUBNETS = ["subnet-0d2e7a91c4b3f0001", "subnet-0d2e7a91c4b3f0002"]


def node_class(config: NodeClassConfig | None = None) -> dict[str, Any]:
    return build_ec2_node_class(config or NodeClassConfig(), instance_profile="gpu-prod-karpenter-node",
                                subnet_ids=SUBNETS, security_group_id="sg-0d2e7a91c4b3f1234")


def test_crd_check_refuses_what_the_api_server_would() -> None:
    bad = node_class()
    bad["spec"]["metadataOptions"]["httpTokens"] = "maybe"
    bad["spec"]["blockDeviceMappings"][0]["ebs"]["volumeTypo"] = "gp3"
    problems = crd_schema_problems(bad, CRDS)
    assert any("httpTokens" in p for p in problems) and any("volumeTypo" in p for p in problems), problems


def test_node_class_defaults() -> None:
    obj = node_class(NodeClassConfig(tags={"team": "ml"}))
    assert {"group": obj["apiVersion"].split("/")[0], "kind": obj["kind"], "name": obj["metadata"]["name"]} == \
        EC2_NODE_CLASS_REF
    spec = obj["spec"]
    assert spec["amiSelectorTerms"] == [{"alias": "al2023@v20260520"}]
    assert spec["metadataOptions"]["httpTokens"] == "required"
    assert spec["metadataOptions"]["httpPutResponseHopLimit"] == 1
    (root,) = spec["blockDeviceMappings"]
    assert root["rootVolume"] is True
    assert root["ebs"] == {"volumeSize": "200Gi", "volumeType": "gp3", "encrypted": True, "deleteOnTermination": True}
    assert spec["subnetSelectorTerms"] == [{"id": "subnet-0d2e7a91c4b3f0001"}, {"id": "subnet-0d2e7a91c4b3f0002"}]
    assert spec["securityGroupSelectorTerms"] == [{"id": "sg-0d2e7a91c4b3f1234"}]
    assert spec["instanceProfile"] == "gpu-prod-karpenter-node" and "role" not in spec
    assert spec["tags"]["team"] == "ml"


# --- CRDs and render ---------------------------------------------------------------------------------------------
def test_crds_are_the_pinned_releases() -> None:
    assert sorted(p.name for p in crd_folder().glob("*.yaml")) == sorted(KARPENTER_CRD_FILES)
    names = {c["metadata"]["name"] for c in CRDS}
    assert {"nodepools.karpenter.sh", "nodeclaims.karpenter.sh", "ec2nodeclasses.karpenter.k8s.aws"} <= names
    validate_objects(CRDS)
    for crd in CRDS:
        assert [v["name"] for v in crd["spec"]["versions"] if v["storage"]] in (["v1"], ["v1alpha1"], ["v1beta1"])


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_render_shows_karpenter_on_eks_stacks(stack: str) -> None:
    objects = in_cluster_objects(load_stack(stack))
    kinds = [o["kind"] for o in objects]
    assert kinds[: len(CRDS)] == ["CustomResourceDefinition"] * len(CRDS)  # first: everything else needs them
    # The EC2NodeClass after the controller, and only the NodePools that launch from it after the EC2NodeClass.
    assert kinds.index("EC2NodeClass") > kinds.index("Deployment")
    assert set(kinds[kinds.index("EC2NodeClass") + 1:]) == {"NodePool"}
    assert one(objects, "EC2NodeClass")["spec"]["instanceProfile"] == INSTANCE_PROFILE_PLACEHOLDER
    assert any(o["kind"] == "Deployment" and o["metadata"]["name"] == "karpenter" for o in objects)


def test_no_karpenter_on_the_local_stack() -> None:
    assert karpenter_objects(load_stack("local")) == []
