"""`cluster.autoMode` of an `eks-auto` cluster: what EKS Auto Mode runs, and the NodeClass our pools boot from.

Auto Mode runs Karpenter, the NVIDIA driver and device plugin, the VPC CNI, CoreDNS, kube-proxy and the EBS CSI
driver itself, on Bottlerocket nodes it patches. Its built-in NodePools (`system` for critical add-ons,
`general-purpose` for the rest) are chosen here; our pools are NodePools of our own that boot from one Auto Mode
`NodeClass` (eks.amazonaws.com/v1), configured here.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from ._model import ConfigModel

__all__ = [
    "AUTO_NODE_CLASS_NAME",
    "AUTO_NODE_CLASS_REF",
    "AutoModeConfig",
    "AutoNodeClassConfig",
    "BUILTIN_NODE_POOLS",
    "DEFAULT_EPHEMERAL_STORAGE_GIB",
]

BuiltinNodePool = Literal["system", "general-purpose"]
BUILTIN_NODE_POOLS: tuple[BuiltinNodePool, ...] = ("system", "general-purpose")
# The one NodeClass every elastic pool of an eks-auto stack references.
AUTO_NODE_CLASS_NAME = "gpu-node-pools"
AUTO_NODE_CLASS_REF = {"group": "eks.amazonaws.com", "kind": "NodeClass", "name": AUTO_NODE_CLASS_NAME}
# Auto Mode's default is 80Gi; CUDA images are often 10-20 GiB each and are unpacked on this volume.
DEFAULT_EPHEMERAL_STORAGE_GIB = 200
# At least Auto Mode's own default; at most gp3's largest volume.
_MIN_EPHEMERAL_GIB, _MAX_EPHEMERAL_GIB = 80, 16_384
# Tag keys Auto Mode sets itself (its NodeClass refuses them, as Karpenter's EC2NodeClass does).
_RESERVED_TAG_PREFIXES = ("kubernetes.io/cluster", "eks:", "karpenter.sh/", "eks.amazonaws.com/")


class AutoNodeClassConfig(ConfigModel):
    """`cluster.autoMode.nodeClass`: how our pools' nodes boot (the NodeClass `gpu-node-pools`)."""

    ephemeral_storage_size: int = Field(
        default=DEFAULT_EPHEMERAL_STORAGE_GIB,
        description="GiB of each node's ephemeral (image and emptyDir) volume; Auto Mode's own default is 80",
    )
    tags: dict[str, str] = Field(default_factory=dict, description="extra tags on the instances and volumes")

    @field_validator("ephemeral_storage_size")
    @classmethod
    def _size(cls, size: int) -> int:
        if not _MIN_EPHEMERAL_GIB <= size <= _MAX_EPHEMERAL_GIB:
            raise ValueError(f"{size} GiB: give {_MIN_EPHEMERAL_GIB}-{_MAX_EPHEMERAL_GIB} GiB (the volume holds every "
                             "pulled GPU image)")
        return size

    @field_validator("tags")
    @classmethod
    def _tags(cls, tags: dict[str, str]) -> dict[str, str]:
        bad = [k for k in tags if k.startswith(_RESERVED_TAG_PREFIXES) or k.startswith("aws:")
               or not 1 <= len(k) <= 128 or len(tags[k]) > 256]
        if bad:
            raise ValueError(f"tags {', '.join(map(repr, bad))}: set by Auto Mode itself or not EC2 tags "
                             "(keys 1-128 characters, not aws:, values at most 256)")
        return tags


class AutoModeConfig(ConfigModel):
    """`cluster.autoMode`: EKS Auto Mode's built-in NodePools, and the NodeClass our pools boot from."""

    builtin_node_pools: list[BuiltinNodePool] = Field(
        default_factory=lambda: ["system"],
        description="Auto Mode's own NodePools: system (critical add-ons, tainted CriticalAddonsOnly), "
                    "general-purpose (any pod); [] for none, when our pools hold everything",
    )
    node_class: AutoNodeClassConfig = Field(
        default_factory=AutoNodeClassConfig, description=f"the NodeClass `{AUTO_NODE_CLASS_NAME}` our pools boot from"
    )

    @field_validator("builtin_node_pools")
    @classmethod
    def _unique(cls, pools: list[str]) -> list[str]:
        if len(set(pools)) != len(pools):
            raise ValueError(f"listed twice: {pools}")
        return pools
