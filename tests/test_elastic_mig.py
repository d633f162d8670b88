"""MIG on elastic pools: `single` works (its MIG devices are `nvidia.com/gpu`, which Karpenter plans with), through
the pool's own EC2NodeClass carrying the layout script as Karpenter's AL2023 bootstrap reads user data; `mixed`
stays refused. The NodePool names the pool's class, other elastic pools keep the shared one, the controller's IAM
covers the new class unchanged, and the cap is counted as each Karpenter counts it."""

from __future__ import annotations

import email
import email.policy
import json
from typing import Any

import pytest

from gpu_node_pools.aws.karpenter_iam import cluster_identity, controller_policies
from gpu_node_pools.aws.mig_user_data import mig_script
from gpu_node_pools.config.karpenter import EC2_NODE_CLASS_NAME
from gpu_node_pools.config.platform import ConfigError, parse_platform_config
from gpu_node_pools.config.sharing import MigConfig
from gpu_node_pools.facts.mig import MIG_GPUS
from gpu_node_pools.manifests.karpenter_crds import karpenter_crds
from gpu_node_pools.manifests.kwok_instance_types import kwok_instance_types
from gpu_node_pools.parts import INSTANCE_PROFILE_PLACEHOLDER, in_cluster_objects, karpenter_objects
from gpu_node_pools.pools_table import pools_table
from k8s_schema import crd_schema_problems

EKS = {"mode": "eks", "name": "gpu", "subnetIds": ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"],
       "publicAccessCidrs": ["203.0.113.0/24"]}
EXISTING = {"mode": "existing", "kubeconfig": "kubeconfig"}
GENERAL = {"name": "general", "kind": "general", "instanceTypes": ["m6i.large"], "scaling": {"min": 2, "max": 3}}
WHOLE = {"name": "gpu-elastic", "kind": "gpu", "elastic": {"instanceFamilies": ["g6"], "limits": {"gpus": 4}}}
SINGLE = {"strategy": "single", "layout": "all-1g.10gb"}
H100 = MIG_GPUS["NVIDIA H100 80GB HBM3"]


def mig_pool(strategy: str = "single", **elastic: Any) -> dict[str, Any]:
    return {"name": "mig-elastic", "kind": "gpu", "sharing": {"mig": {**SINGLE, "strategy": strategy}},
            "elastic": {"instanceFamilies": ["p5"], "limits": {"gpus": 16}, **elastic}}


def config(*pools: dict[str, Any], cluster: dict[str, Any] = EKS):
    extra = {"karpenter": {"enabled": True}} if cluster is EKS else {}
    return parse_platform_config({"cluster": cluster, "nodePools": [GENERAL, *pools], "nodeAgent": {"enabled": False},
                                  **extra}, "stack.yaml")


def by_name(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def karpenter_reads(user_data: str) -> list[tuple[str, str]]:
    """(content type, content) of each part, read as Karpenter's AL2023 bootstrap reads an EC2NodeClass's userData
    (nodeadm.go parseUserData, mime.NewArchive): a document starting `MIME-Version:` is a mail message whose
    Content-Type is multipart with a boundary; anything else would be wrapped whole as one part."""
    assert user_data.strip().startswith("MIME-Version:")
    message = email.message_from_string(user_data, policy=email.policy.compat32)
    assert message.get_content_maintype() == "multipart" and message.get_param("boundary")
    assert not message.defects, message.defects
    return [(part.get("Content-Type"), part.get_payload()) for part in message.get_payload()]


@pytest.mark.parametrize("cluster", [EKS, EXISTING])
def test_single_is_accepted_on_an_elastic_pool(cluster: dict[str, Any]) -> None:
    pool = config(mig_pool(), cluster=cluster).node_pools[1]
    assert pool.is_elastic and pool.mig_gpu() == H100


def test_mixed_is_refused_on_an_elastic_pool_with_the_reason() -> None:
    with pytest.raises(ConfigError) as raised:
        config(mig_pool("mixed"))
    message = str(raised.value)
    assert "nodePools[1].sharing.mig.strategy:" in message
    assert "nvidia.com/mig-<profile>" in message and "would launch no node" in message


def test_eks_auto_pools_keep_their_refusal() -> None:
    """Auto Mode's device plugin is AWS's: no sharing of any kind there, MIG single included."""
    auto = {**EKS, "mode": "eks-auto"}
    general = {"name": "general", "kind": "general",
               "elastic": {"instanceFamilies": ["m7i"], "limits": {"cpu": "32", "memory": "128Gi"}}}
    with pytest.raises(ConfigError) as raised:
        parse_platform_config({"cluster": auto, "nodePools": [general, mig_pool()],
                               "nodeAgent": {"image": "registry.example.com/gpu-node-agent:0.1.0"}}, "stack.yaml")
    assert "nodePools[1].sharing:" in str(raised.value) and "not available under eks-auto" in str(raised.value)


def test_the_pool_boots_from_its_own_node_class_carrying_the_layout() -> None:
    objects = karpenter_objects(config(mig_pool(), WHOLE))
    classes = by_name(objects, "EC2NodeClass")
    own_name = f"{EC2_NODE_CLASS_NAME}-mig-elastic"
    assert set(classes) == {EC2_NODE_CLASS_NAME, own_name}
    shared, own = classes[EC2_NODE_CLASS_NAME], classes[own_name]
    # The shared class, from the same builder: same profile (so the same node role), network, disks, AMI.
    spec = dict(own["spec"])
    user_data = spec.pop("userData")
    assert spec == {**shared["spec"], "tags": {**shared["spec"]["tags"], "gpu-node-pools.io/node-class": own_name}}
    assert spec["instanceProfile"] == INSTANCE_PROFILE_PLACEHOLDER and "userData" not in shared["spec"]
    ((content_type, script),) = karpenter_reads(user_data)
    assert content_type == 'text/x-shellscript; charset="us-ascii"'
    assert script.rstrip("\n") == mig_script(MigConfig(**SINGLE), H100).rstrip("\n")
    assert "nvidia-smi mig -cgi " + ",".join(["1g.10gb"] * 7) + " -C" in script
    for node_class in classes.values():
        assert crd_schema_problems(node_class, karpenter_crds()) == []


def test_the_node_pool_names_its_class_and_others_keep_the_shared_one() -> None:
    stack = config(mig_pool(), WHOLE)
    pools = by_name(in_cluster_objects(stack), "NodePool")
    refs = {name: p["spec"]["template"]["spec"]["nodeClassRef"]["name"] for name, p in pools.items()}
    assert refs == {"mig-elastic": f"{EC2_NODE_CLASS_NAME}-mig-elastic", "gpu-elastic": EC2_NODE_CLASS_NAME}
    assert f"{EC2_NODE_CLASS_NAME}-mig-elastic" in pools_table(stack)
    assert "mig single all-1g.10gb" in pools_table(stack)


def test_the_controllers_iam_covers_any_node_class_of_the_cluster() -> None:
    """The controller's policies scope launches by the cluster's and Karpenter's own tags, never by an EC2NodeClass
    name, and may pass only the node role: the MIG class, naming the same instance profile, needs nothing new."""
    objects = karpenter_objects(config(mig_pool()))
    profiles = {c["spec"]["instanceProfile"] for c in by_name(objects, "EC2NodeClass").values()}
    assert profiles == {INSTANCE_PROFILE_PLACEHOLDER}
    policies = controller_policies(cluster_identity("arn:aws:eks:us-west-2:111122223333:cluster/gpu"),
                                   node_role_arn="arn:aws:iam::111122223333:role/gpu-karpenter-node", queue_arn=None)
    text = json.dumps(policies)
    assert "ec2nodeclass" not in text and EC2_NODE_CLASS_NAME not in text
    launches = [s for p in policies.values() for s in p["Statement"]
                if "ec2:RunInstances" in s["Action"] and "Condition" in s]
    assert launches and all("aws:ResourceTag/karpenter.sh/nodepool" in json.dumps(s["Condition"])
                            or "aws:RequestTag/karpenter.sh/nodepool" in json.dumps(s["Condition"]) for s in launches)


def test_the_cap_is_counted_as_each_karpenter_counts_a_launching_node() -> None:
    """EKS: Karpenter's AWS provider knows whole GPUs, so 16 GPUs stay 16. Locally the pool's instance-type copies
    advertise MIG devices (7 per H100), so the same cap is 16 x 7 of them."""
    eks = by_name(in_cluster_objects(config(mig_pool())), "NodePool")["mig-elastic"]
    local = by_name(in_cluster_objects(config(mig_pool(), cluster=EXISTING)), "NodePool")["mig-elastic"]
    assert eks["spec"]["limits"] == {"nvidia.com/gpu": "16"}
    assert local["spec"]["limits"] == {"nvidia.com/gpu": "112"}


def test_the_local_karpenter_offers_the_pool_copies_advertising_mig_devices() -> None:
    stack = config(mig_pool(), cluster=EXISTING)
    types = {t["name"]: t for t in kwok_instance_types(pools=stack.node_pools)}
    copy = types["p5.48xlarge.mig-elastic"]
    assert copy["resources"]["nvidia.com/gpu"] == "56"  # 8 GPUs x 7 1g.10gb devices
    labels = {r["key"]: r["values"] for r in copy["offerings"][0]["Requirements"]}
    assert labels["gpu-node-pools.io/gpu-sharing"] == ["mig"]
    assert labels["nvidia.com/device-plugin.config"] == ["mig-elastic"]
