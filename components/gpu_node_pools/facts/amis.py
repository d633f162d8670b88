"""EKS AMI types we offer, as a table: which are GPU images, their architecture, and their family.

AL2 AMIs reached end of support in November 2025 and are not offered (`AL2_x86_64_GPU` and friends).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["AmiType", "AMI_TYPES", "DEFAULT_AMI", "RETIRED_AMI_TYPES"]


@dataclass(frozen=True)
class AmiType:
    name: str
    arch: Literal["x86_64", "arm64"]
    gpu: bool
    family: Literal["al2023", "bottlerocket"]

    @property
    def ships_device_plugin(self) -> bool:
        """Bottlerocket NVIDIA images run NVIDIA's device plugin themselves; AL2023 NVIDIA images do not."""
        return self.gpu and self.family == "bottlerocket"


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
