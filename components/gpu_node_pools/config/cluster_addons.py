"""The EKS managed add-ons a new cluster gets, and the versions a stack may pin."""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from ._model import ConfigModel

__all__ = ["AddonConfig", "ManagedAddonsConfig"]

_ADDON_VERSION = re.compile(r"^v\d+\.\d+\.\d+-eksbuild\.\d+$")


class AddonConfig(ConfigModel):
    """One managed add-on."""

    version: str | None = Field(
        default=None,
        description="pinned add-on version, e.g. v1.20.4-eksbuild.2; unset: the newest for the cluster version",
    )

    @field_validator("version")
    @classmethod
    def _version(cls, version: str | None) -> str | None:
        if version is not None and not _ADDON_VERSION.match(version):
            raise ValueError(f"{version!r} is not an EKS add-on version (like v1.20.4-eksbuild.2)")
        return version


class ManagedAddonsConfig(ConfigModel):
    """`cluster.addons`, keyed by the EKS add-on name."""

    vpc_cni: AddonConfig = Field(default_factory=AddonConfig, alias="vpc-cni", description="Amazon VPC CNI")
    kube_proxy: AddonConfig = Field(default_factory=AddonConfig, alias="kube-proxy", description="kube-proxy")
    coredns: AddonConfig = Field(default_factory=AddonConfig, alias="coredns", description="CoreDNS")
    eks_pod_identity_agent: AddonConfig = Field(
        default_factory=AddonConfig, alias="eks-pod-identity-agent", description="EKS Pod Identity agent"
    )

    def pinned(self, addon_name: str) -> str | None:
        """The version pinned for the add-on called `addon_name` (its EKS name), or None."""
        by_name = {field.alias: name for name, field in type(self).model_fields.items()}
        config: AddonConfig = getattr(self, by_name[addon_name])
        return config.version
