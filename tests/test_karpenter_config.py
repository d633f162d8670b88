"""The `karpenter` stack key: defaults, and one clear error naming the key for each bad value."""

from __future__ import annotations

from typing import Any

import pytest
from gpu_node_pools.config.karpenter import (
    DEFAULT_AMI_ALIAS,
    EC2_NODE_CLASS_REF,
    KARPENTER_VERSION,
    KarpenterConfig,
    is_dated_ami_alias,
)
from gpu_node_pools.config.platform import ConfigError, parse_platform_config
from gpu_node_pools.config.stack_files import load_stack

EKS = {"mode": "eks", "name": "gpu", "subnetIds": ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"],
       "publicAccessCidrs": ["203.0.113.0/24"]}
POOLS = [
    {"name": "general", "kind": "general", "instanceTypes": ["m6i.large"], "scaling": {"min": 2, "max": 3}},
    {"name": "gpu", "kind": "gpu", "instanceTypes": ["g5.xlarge"], "scaling": {"min": 0, "max": 2}},
]


def parse(karpenter: dict[str, Any], cluster: dict[str, Any] = EKS, pools: list[dict[str, Any]] = POOLS):
    values = {"cluster": cluster, "nodePools": pools, "karpenter": karpenter, "nodeAgent": {"enabled": False}}
    return parse_platform_config(values, "stack.yaml")


def test_defaults_are_off_pinned_and_sized_for_gpu_images() -> None:
    config = KarpenterConfig()
    assert config.enabled is False
    assert config.version == KARPENTER_VERSION == "1.15.0"
    assert config.controller.image == "public.ecr.aws/karpenter/controller:1.15.0"
    assert is_dated_ami_alias(config.node_class.ami_alias) and config.node_class.ami_alias == DEFAULT_AMI_ALIAS
    assert config.node_class.root_volume_size == 200
    assert config.interruption_queue.enabled and config.interruption_queue.message_retention_seconds == 300
    assert EC2_NODE_CLASS_REF == {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "gpu-node-pools"}


@pytest.mark.parametrize(("stack", "enabled"), [("dev", True), ("prod", True), ("local", False)])
def test_stacks(stack: str, enabled: bool) -> None:
    config = load_stack(stack).karpenter
    assert config.enabled is enabled
    if stack == "prod":
        assert is_dated_ami_alias(config.node_class.ami_alias)


@pytest.mark.parametrize(("alias", "dated"), [
    ("al2023@v20260520", True), ("al2023@latest", False),
])
def test_ami_alias_forms(alias: str, dated: bool) -> None:
    assert parse({"enabled": True, "nodeClass": {"amiAlias": alias}}).karpenter.node_class.ami_alias == alias
    assert is_dated_ami_alias(alias) is dated


CASES = [
    ("unknown key", {"enabled": True, "nodeclass": {}}, "karpenter.nodeclass", "unknown key"),
    ("other version", {"version": "1.14.1"}, "karpenter.version", "not the release this code installs (1.15.0)"),
    ("AL2 alias", {"nodeClass": {"amiAlias": "al2@v20240807"}}, "karpenter.nodeClass.amiAlias",
     "not an AL2023 AMI alias"),
    ("undated alias", {"nodeClass": {"amiAlias": "al2023@2026"}}, "karpenter.nodeClass.amiAlias",
     "al2023@vYYYYMMDD"),
    ("tiny root volume", {"nodeClass": {"rootVolumeSize": 20}}, "karpenter.nodeClass.rootVolumeSize",
     "20 GiB: the root volume holds the OS and every pulled GPU image"),
    ("Karpenter's own tag", {"nodeClass": {"tags": {"karpenter.sh/nodepool": "x"}}}, "karpenter.nodeClass.tags",
     "set by Karpenter itself"),
    ("cluster tag", {"nodeClass": {"tags": {"kubernetes.io/cluster/gpu": "owned"}}}, "karpenter.nodeClass.tags",
     "set by Karpenter itself"),
    ("aws: tag", {"nodeClass": {"tags": {"aws:cost": "x"}}}, "karpenter.nodeClass.tags", "not aws:"),
    ("retention", {"interruptionQueue": {"messageRetentionSeconds": 30}},
     "karpenter.interruptionQueue.messageRetentionSeconds", "SQS keeps messages 60-1209600 s"),
    ("latest image", {"controller": {"image": "public.ecr.aws/karpenter/controller:latest"}},
     "karpenter.controller.image", "must be pinned"),
    ("two digests", {"controller": {"image": "public.ecr.aws/karpenter/controller@sha256:" + "a" * 64,
                                    "imageDigest": "sha256:" + "b" * 64}},
     "karpenter.controller.imageDigest", "not both"),
    ("log level", {"controller": {"logLevel": "verbose"}}, "karpenter.controller.logLevel",
     "'verbose' is not allowed"),
    ("more replicas than general nodes", {"enabled": True, "controller": {"replicas": 3}},
     "karpenter.controller.replicas", "3 controller replicas need as many general nodes"),
]


@pytest.mark.parametrize(("karpenter", "key", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_config_names_its_key(karpenter: dict[str, Any], key: str, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse(karpenter)
    (problem,) = raised.value.problems
    assert problem[0] == f"gpu-node-pools:{key}"
    assert message in problem[1]


def test_karpenter_needs_an_eks_cluster() -> None:
    with pytest.raises(ConfigError) as raised:
        parse({"enabled": True}, cluster={"mode": "existing", "kubeconfig": "kubeconfig"})
    ((key, message),) = raised.value.problems
    assert key == "gpu-node-pools:karpenter.enabled"
    assert "EKS stacks only" in message


def test_karpenter_needs_a_general_pool_for_its_controller() -> None:
    with pytest.raises(ConfigError) as raised:
        parse({"enabled": True}, pools=[POOLS[1]])
    ((key, message),) = raised.value.problems
    assert key == "gpu-node-pools:karpenter.enabled"
    assert "general managed node pool" in message


def test_disabled_karpenter_asks_nothing_of_the_cluster() -> None:
    assert parse({}, cluster={"mode": "existing", "kubeconfig": "kubeconfig"}, pools=[POOLS[1]]).karpenter.enabled is False
