"""The EKS managed add-ons a new cluster gets, and the versions a stack may pin."""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from ._model import ConfigModel

__all__ = ["AddonConfig", "ManagedAddonsConfig", "OptionalAddonConfig"]

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


class OptionalAddonConfig(AddonConfig):
    """A managed add-on a cluster gets only when asked."""

    enabled: bool = Field(default=False, description="install the add-on")


class ManagedAddonsConfig(ConfigModel):
    """`cluster.addons`, keyed by the EKS add-on name."""

    vpc_cni: AddonConfig = Field(default_factory=AddonConfig, alias="vpc-cni", description="Amazon VPC CNI")
    kube_proxy: AddonConfig = Field(default_factory=AddonConfig, alias="kube-proxy", description="kube-proxy")
    coredns: AddonConfig = Field(default_factory=AddonConfig, alias="coredns", description="CoreDNS")
    eks_pod_identity_agent: AddonConfig = Field(
        default_factory=AddonConfig, alias="eks-pod-identity-agent", description="EKS Pod Identity agent"
    )
    eks_node_monitoring_agent: OptionalAddonConfig = Field(
        default_factory=OptionalAddonConfig,
        alias="eks-node-monitoring-agent",
        description="EKS node monitoring agent: writes AcceleratedHardwareReady itself, so when enabled the node "
        "agent leaves that condition to it (one writer)",
    )

    def enabled(self, addon_name: str) -> bool:
        """Whether the add-on called `addon_name` is installed (the required ones always are)."""
        by_name = {field.alias: name for name, field in type(self).model_fields.items()}
        config: AddonConfig = getattr(self, by_name[addon_name])
        return not isinstance(config, OptionalAddonConfig) or config.enabled

    def pinned(self, addon_name: str) -> str | None:
        """The version pinned for the add-on called `addon_name` (its EKS name), or None."""
        by_name = {field.alias: name for name, field in type(self).model_fields.items()}
        config: AddonConfig = getattr(self, by_name[addon_name])
        return config.version
