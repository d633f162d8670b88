"""The stack file's `karpenter` key: Karpenter on a new EKS cluster (controller, node class, interruption queue).

Cluster-level only: which GPU pools are elastic (Karpenter NodePools) is said per pool. Every NodePool of ours
points at the one EC2NodeClass named `EC2_NODE_CLASS_NAME`, configured here, but a MIG pool's: it boots from its own
copy of that class (`mig_node_class_name`) whose user data applies the pool's MIG layout.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from ._model import ConfigModel
from .fields import ContainerResources
from .image import ImageDigest, PinnedImage, single_digest

__all__ = [
    "AMI_ALIAS_LATEST",
    "DEFAULT_AMI_ALIAS",
    "DEFAULT_CONTROLLER_RESOURCES",
    "DEFAULT_ROOT_VOLUME_GIB",
    "EC2_NODE_CLASS_NAME",
    "EC2_NODE_CLASS_REF",
    "InterruptionQueueConfig",
    "KARPENTER_NAMESPACE",
    "KARPENTER_SERVICE_ACCOUNT",
    "KARPENTER_VERSION",
    "KarpenterConfig",
    "KarpenterControllerConfig",
    "MINIMUM_ROOT_VOLUME_GIB",
    "NodeClassConfig",
    "is_dated_ami_alias",
    "mig_node_class_name",
]

# The Karpenter release installed: aws/karpenter-provider-aws v1.15.0, built on sigs.k8s.io/karpenter v1.15.0 (the
# core the local kwok Karpenter runs). Its CRDs are committed under manifests/crds/karpenter-<version>/.
KARPENTER_VERSION = "1.15.0"
# Where the controller runs: the namespace and service account its IAM role (Pod Identity) is bound to.
KARPENTER_NAMESPACE = "kube-system"
KARPENTER_SERVICE_ACCOUNT = "karpenter"
DEFAULT_CONTROLLER_IMAGE = f"public.ecr.aws/karpenter/controller:{KARPENTER_VERSION}"
# The chart's recommended sizing for the controller (Karpenter docs, "Getting started": 1 CPU, 1Gi).
# Ephemeral storage: a read-only root, so only its log (rotated at 5 x 10 MiB by default).
DEFAULT_CONTROLLER_RESOURCES = ContainerResources(
    cpu="1", memory="1Gi", cpu_limit="1", memory_limit="1Gi", ephemeral_storage="32Mi", ephemeral_storage_limit="128Mi"
)
# The one EC2NodeClass every elastic pool's NodePool references (spec.template.spec.nodeClassRef).
EC2_NODE_CLASS_NAME = "gpu-node-pools"
EC2_NODE_CLASS_REF = {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": EC2_NODE_CLASS_NAME}
# An EKS AL2023 AMI release (amazon-eks-node-al2023-*-v20260520; Karpenter's AMI e2e suite uses this release).
# Karpenter picks the NVIDIA variant of the release for instance types with NVIDIA GPUs.
DEFAULT_AMI_ALIAS = "al2023@v20260520"
AMI_ALIAS_LATEST = "al2023@latest"
_AMI_ALIAS = re.compile(r"^al2023@(latest|v\d{8})$")
_DATED_ALIAS = re.compile(r"^al2023@v\d{8}$")
# CUDA images are often 10-20 GiB each, pulled and unpacked on the root volume next to the OS.
DEFAULT_ROOT_VOLUME_GIB = 200
MINIMUM_ROOT_VOLUME_GIB = 50
# Tag keys Karpenter sets itself and its EC2NodeClass CRD refuses in spec.tags.
_RESERVED_TAG_PREFIXES = ("kubernetes.io/cluster",)
_RESERVED_TAGS = ("karpenter.sh/nodepool", "karpenter.sh/nodeclaim", "karpenter.k8s.aws/ec2nodeclass",
                  "eks:eks-cluster-name")
# SQS MessageRetentionPeriod bounds; Karpenter's template keeps interruption messages 300 s, since a spot warning
# is worthless after its two minutes.
_MIN_RETENTION_SECONDS, _MAX_RETENTION_SECONDS = 60, 1_209_600


def mig_node_class_name(pool_name: str) -> str:
    """The EC2NodeClass an elastic MIG pool boots from: the shared class plus the pool's layout in its user data."""
    return f"{EC2_NODE_CLASS_NAME}-{pool_name}"


def is_dated_ami_alias(alias: str) -> bool:
    """Whether `alias` pins one AMI release (`al2023@v20260520`), rather than following `al2023@latest`."""
    return bool(_DATED_ALIAS.match(alias))


class KarpenterControllerConfig(ConfigModel):
    """`karpenter.controller`: the controller Deployment in kube-system."""

    image: PinnedImage = Field(default=DEFAULT_CONTROLLER_IMAGE, description="controller image, `repo:tag`")
    image_digest: ImageDigest | None = Field(
        default=None, description="digest of `image`'s tag (`sha256:` and 64 hex): renders `repo:tag@sha256:...`"
    )
    replicas: int = Field(default=2, ge=1, le=5, description="replicas (one leads; two keep provisioning through a "
                                                              "node loss)")
    resources: ContainerResources = Field(
        default=DEFAULT_CONTROLLER_RESOURCES, description="default: requests and limits 1 CPU, 1Gi"
    )
    log_level: Literal["debug", "info", "error"] = Field(default="info", description="the controller's log level")

    @field_validator("image_digest")
    @classmethod
    def _one_digest(cls, digest: str | None, info: ValidationInfo) -> str | None:
        return single_digest(info.data.get("image", ""), digest)


class NodeClassConfig(ConfigModel):
    """`karpenter.nodeClass`: how Karpenter's nodes boot (the EC2NodeClass `gpu-node-pools`)."""

    ami_alias: str = Field(
        default=DEFAULT_AMI_ALIAS,
        description="AL2023 AMI release, `al2023@vYYYYMMDD`; `al2023@latest` follows new releases (refused in "
                    "prod by the policy pack)",
    )
    root_volume_size: int = Field(
        default=DEFAULT_ROOT_VOLUME_GIB, description="root volume GiB (gp3, encrypted): OS plus pulled images"
    )
    tags: dict[str, str] = Field(default_factory=dict, description="extra tags on the instances and volumes")

    @field_validator("ami_alias")
    @classmethod
    def _alias(cls, alias: str) -> str:
        if not _AMI_ALIAS.match(alias):
            raise ValueError(
                f"{alias!r} is not an AL2023 AMI alias: write al2023@vYYYYMMDD (an EKS AMI release) or al2023@latest"
            )
        return alias

    @field_validator("root_volume_size")
    @classmethod
    def _volume(cls, size: int) -> int:
        if not MINIMUM_ROOT_VOLUME_GIB <= size <= 16_384:
            raise ValueError(
                f"{size} GiB: the root volume holds the OS and every pulled GPU image; give "
                f"{MINIMUM_ROOT_VOLUME_GIB}-16384 GiB (gp3's maximum)"
            )
        return size

    @field_validator("tags")
    @classmethod
    def _tags(cls, tags: dict[str, str]) -> dict[str, str]:
        problems = []
        for key, value in tags.items():
            if key in _RESERVED_TAGS or key.startswith(_RESERVED_TAG_PREFIXES):
                problems.append(f"tag {key!r} is set by Karpenter itself (its EC2NodeClass refuses it)")
            elif not 1 <= len(key) <= 128 or len(value) > 256 or key.startswith("aws:"):
                problems.append(f"tag {key!r}: EC2 tag keys are 1-128 characters, not aws:, values at most 256")
        if problems:
            raise ValueError("; ".join(problems))
        return tags


class InterruptionQueueConfig(ConfigModel):
    """`karpenter.interruptionQueue`: the SQS queue EventBridge fills with spot, rebalance, state and health events."""

    enabled: bool = Field(default=True, description="drain nodes ahead of spot interruptions and AWS health events")
    message_retention_seconds: int = Field(
        default=300, description="how long an undelivered event is kept (Karpenter's template: 300 s)"
    )

    @field_validator("message_retention_seconds")
    @classmethod
    def _retention(cls, seconds: int) -> int:
        if not _MIN_RETENTION_SECONDS <= seconds <= _MAX_RETENTION_SECONDS:
            raise ValueError(f"{seconds} s: SQS keeps messages 60-1209600 s")
        return seconds


class KarpenterConfig(ConfigModel):
    """`karpenter`: Karpenter on a new EKS cluster. Off by default; elastic GPU pools need it on."""

    enabled: bool = Field(default=False, description="install Karpenter (EKS stacks only)")
    version: str = Field(default=KARPENTER_VERSION, description="Karpenter release; the one whose CRDs ship here")
    controller: KarpenterControllerConfig = Field(
        default_factory=KarpenterControllerConfig, description="the controller Deployment"
    )
    node_class: NodeClassConfig = Field(
        default_factory=NodeClassConfig, description=f"the EC2NodeClass `{EC2_NODE_CLASS_NAME}`"
    )
    interruption_queue: InterruptionQueueConfig = Field(
        default_factory=InterruptionQueueConfig, description="SQS queue and EventBridge rules for interruptions"
    )

    @field_validator("version")
    @classmethod
    def _version(cls, version: str) -> str:
        # Pinned: the CRDs, the RBAC and the IAM policy here are this release's, and must move with it.
        if version != KARPENTER_VERSION:
            raise ValueError(
                f"Karpenter {version!r} is not the release this code installs ({KARPENTER_VERSION}): its CRDs, RBAC "
                "and IAM policy are versioned with the code (docs/eks.md, Upgrading Karpenter)"
            )
        return version

