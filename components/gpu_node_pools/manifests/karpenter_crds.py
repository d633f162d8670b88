"""Karpenter's CRDs for the pinned release, read from the files committed beside this module.

Applied by the `Karpenter` component as ordinary objects, so a new release updates them in place (Helm installs a
chart's CRDs once and never upgrades them, which is why Karpenter publishes them as a separate chart).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml

from ..config.karpenter import KARPENTER_VERSION

__all__ = ["KARPENTER_CRD_FILES", "crd_folder", "karpenter_crds"]

# NodePool, NodeClaim and EC2NodeClass, plus NodeOverlay and CapacityBuffer, which the karpenter-crd chart installs
# too: the 1.15 controller watches those two only behind feature gates (off here), so turning a gate on later needs
# no CRD change.
KARPENTER_CRD_FILES = (
    "karpenter.sh_nodepools.yaml",
    "karpenter.sh_nodeclaims.yaml",
    "karpenter.k8s.aws_ec2nodeclasses.yaml",
    "karpenter.sh_nodeoverlays.yaml",
    "autoscaling.x-k8s.io_capacitybuffers.yaml",
)


def crd_folder(version: str = KARPENTER_VERSION) -> Path:
    return Path(__file__).parent / "crds" / f"karpenter-{version}"


@functools.cache
def _load(version: str) -> tuple[str, ...]:
    folder = crd_folder(version)
    return tuple((folder / name).read_text() for name in KARPENTER_CRD_FILES)


# libyaml's parser where PyYAML has it: the CRDs are large, and the pure-Python one made them most of a plan's time.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def karpenter_crds(version: str = KARPENTER_VERSION) -> list[dict[str, Any]]:
    """The CustomResourceDefinitions, as fresh dicts (callers may change them)."""
    return [yaml.load(text, Loader=_LOADER) for text in _load(version)]  # noqa: S506 - a safe loader
