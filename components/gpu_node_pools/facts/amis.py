"""EKS AMI types we offer, as a table: which are GPU images, their architecture, and their family; and each
family's block devices.

AL2 AMIs reached end of support in November 2025 and are not offered (`AL2_x86_64_GPU` and friends).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["AMI_FAMILIES", "AMI_TYPES", "AmiFamily", "AmiType", "DEFAULT_AMI", "RETIRED_AMI_TYPES"]

FamilyName = Literal["al2023", "bottlerocket"]


@dataclass(frozen=True)
class AmiFamily:
    """Where an image family keeps its OS and its data (container images, pod volumes, logs)."""

    name: FamilyName
    os_device: str
    data_device: str


AMI_FAMILIES: dict[str, AmiFamily] = {
    f.name: f
    for f in (
        # One root volume holds everything.
        AmiFamily("al2023", os_device="/dev/xvda", data_device="/dev/xvda"),
        # A small read-only OS volume, and a separate data volume that is the one to size
        # (Karpenter's Bottlerocket examples: xvda the root, xvdb "container resources such as images and logs").
        AmiFamily("bottlerocket", os_device="/dev/xvda", data_device="/dev/xvdb"),
    )
}


@dataclass(frozen=True)
class AmiType:
    name: str
    arch: Literal["x86_64", "arm64"]
    gpu: bool
    family: FamilyName

    @property
    def ships_device_plugin(self) -> bool:
        """Bottlerocket NVIDIA images run NVIDIA's device plugin themselves; AL2023 NVIDIA images do not."""
        return self.gpu and self.family == "bottlerocket"

    @property
    def devices(self) -> AmiFamily:
        return AMI_FAMILIES[self.family]


AMI_TYPES: dict[str, AmiType] = {
    a.name: a
    for a in (
        AmiType("AL2023_x86_64_STANDARD", "x86_64", False, "al2023"),
        AmiType("AL2023_ARM_64_STANDARD", "arm64", False, "al2023"),
        AmiType("BOTTLEROCKET_x86_64", "x86_64", False, "bottlerocket"),
        AmiType("BOTTLEROCKET_ARM_64", "arm64", False, "bottlerocket"),
        AmiType("AL2023_x86_64_NVIDIA", "x86_64", True, "al2023"),
        AmiType("AL2023_ARM_64_NVIDIA", "arm64", True, "al2023"),
        AmiType("BOTTLEROCKET_x86_64_NVIDIA", "x86_64", True, "bottlerocket"),
        AmiType("BOTTLEROCKET_ARM_64_NVIDIA", "arm64", True, "bottlerocket"),
    )
}

# (gpu, arch) -> the AMI a pool gets when it names none.
DEFAULT_AMI: dict[tuple[bool, str], str] = {
    (True, "x86_64"): "AL2023_x86_64_NVIDIA",
    (True, "arm64"): "AL2023_ARM_64_NVIDIA",
    (False, "x86_64"): "AL2023_x86_64_STANDARD",
    (False, "arm64"): "AL2023_ARM_64_STANDARD",
}

RETIRED_AMI_TYPES = frozenset({"AL2_x86_64", "AL2_x86_64_GPU", "AL2_ARM_64"})
