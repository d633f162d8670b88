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
    "AUTO_MODE_INSTANCE_FAMILIES",
    "AUTO_NODE_CLASS_NAME",
    "AUTO_NODE_CLASS_REF",
    "AutoModeConfig",
    "AutoNodeClassConfig",
    "BUILTIN_NODE_POOLS",
    "DEFAULT_EPHEMERAL_STORAGE_GIB",
    "auto_mode_offer_problem",
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

# The instance families EKS Auto Mode launches, and its two further rules: more than one vCPU, no nano, micro or
# small size. Source: EKS User Guide, "Learn about Amazon EKS Auto Mode Managed instances", section "EKS Auto Mode
# supported instance reference" (https://docs.aws.amazon.com/eks/latest/userguide/automode-learn-instances.html),
# as published in 2026 (the page's note on managed resource visibility is dated April 22, 2026). A NodePool that
# asks only for others never gets a node: AWS adds families over time, so re-check the page before relying on a
# refusal here.
AUTO_MODE_INSTANCE_FAMILIES = frozenset({
    # compute optimized
    "c9g", "c8a", "c8g", "c8gb", "c8gd", "c8gn", "c8i", "c8i-flex", "c8id", "c7a", "c7g", "c7gd", "c7gn", "c7i",
    "c7i-flex", "c6a", "c6g", "c6gd", "c6gn", "c6i", "c6id", "c6in", "c5", "c5a", "c5ad", "c5d", "c5n", "c4",
    # general purpose
    "m9gd", "m8a", "m8azn", "m8g", "m8gb", "m8gd", "m8gn", "m8i", "m8i-flex", "m8id", "m7a", "m7g", "m7gd", "m7i",
    "m7i-flex", "m6a", "m6g", "m6gd", "m6i", "m6id", "m6idn", "m6in", "m5", "m5a", "m5ad", "m5d", "m5dn", "m5n",
    "m5zn", "m4",
    # memory optimized
    "r8a", "r8g", "r8gb", "r8gd", "r8gn", "r8i", "r8i-flex", "r8id", "r7a", "r7g", "r7gd", "r7i", "r7iz", "r6a",
    "r6g", "r6gd", "r6i", "r6id", "r6idn", "r6in", "r5", "r5a", "r5ad", "r5b", "r5d", "r5dn", "r5n", "r4",
    # burstable, high memory, storage optimized
    "t4g", "t3", "t3a", "t2", "z1d", "x8aedz", "x8g", "x8i", "x2gd",
    "i8g", "i8ge", "i7i", "i7ie", "i4g", "is4gen", "im4gn", "i4i", "i3", "i3en", "d3", "d3en",
    # accelerated computing
    "trn2", "trn1", "trn1n", "p6-b200", "p6-b300", "p5", "p5e", "p5en", "p4d", "p4de", "p3", "p3dn", "inf2", "inf1",
    "g7e", "g6", "gr6", "g6e", "g5", "g5g", "g4ad", "g4dn",
    # high performance computing
    "x2idn", "x2iedn", "x2iezn", "hpc8a",
})
_AUTO_MODE_SIZES_REFUSED = frozenset({"nano", "micro", "small"})
_AUTO_MODE_PAGE = "EKS Auto Mode's supported instance reference (docs/eks.md)"


def auto_mode_offer_problem(name: str) -> str | None:
    """Why EKS Auto Mode never launches the instance family or type `name` (`g6`, `t3.small`); None if it may.

    AWS's third rule, more than one vCPU, needs a type's shape: every type an elastic pool may name must be in the
    instance-type table (facts/instance_types.py), which holds none with one vCPU (tests/test_auto_mode.py keeps
    it so)."""
    family, _, size = name.partition(".")
    if family not in AUTO_MODE_INSTANCE_FAMILIES:
        return f"EKS Auto Mode does not offer instance family {family!r} ({_AUTO_MODE_PAGE})"
    if size in _AUTO_MODE_SIZES_REFUSED:
        return f"EKS Auto Mode launches no {size} instances ({name!r}; {_AUTO_MODE_PAGE})"
    return None


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
