"""The stack file's `devicePlugin` key: NVIDIA's device plugin, its image, resources and time-slicing."""

from __future__ import annotations

from pydantic import Field, ValidationInfo, field_validator

from ._model import ConfigModel
from .fields import ContainerResources, DnsLabel, TolerationConfig
from .image import ImageDigest, PinnedImage, single_digest

__all__ = [
    "DEFAULT_DEVICE_PLUGIN_IMAGE",
    "DEFAULT_DEVICE_PLUGIN_NAMESPACE",
    "DEFAULT_DEVICE_PLUGIN_RESOURCES",
    "DEVICE_PLUGIN_RELEASE",
    "DevicePluginConfig",
    "TimeSlicingConfig",
]

DEVICE_PLUGIN_RELEASE = "v0.18.2"
DEFAULT_DEVICE_PLUGIN_IMAGE = f"nvcr.io/nvidia/k8s-device-plugin:{DEVICE_PLUGIN_RELEASE}"
DEFAULT_DEVICE_PLUGIN_NAMESPACE = "nvidia-device-plugin"
# Upstream sets none; the plugin is a small Go gRPC server (tens of MiB), so these leave headroom.
# Ephemeral storage: a read-only root and a hostPath socket, so only its log (rotated at 5 x 10 MiB by default).
DEFAULT_DEVICE_PLUGIN_RESOURCES = ContainerResources(
    cpu="50m", memory="64Mi", cpu_limit="200m", memory_limit="256Mi",
    ephemeral_storage="32Mi", ephemeral_storage_limit="128Mi",
)


class TimeSlicingConfig(ConfigModel):
    """Advertise each GPU `replicas` times; pods share it with no memory or fault isolation."""

    replicas: int = Field(ge=2, description="shares advertised per physical GPU (upstream requires >= 2)")
    fail_requests_greater_than_one: bool = Field(
        default=False, description="reject pods asking for more than one share, which buys no extra GPU time"
    )


class DevicePluginConfig(ConfigModel):
    """The stack file's `devicePlugin` key."""

    enabled: bool = Field(default=True, description="deploy the device plugin (Bottlerocket NVIDIA AMIs ship one)")
    namespace: DnsLabel = Field(default=DEFAULT_DEVICE_PLUGIN_NAMESPACE, description="namespace created for it")
    image: PinnedImage = Field(
        default=DEFAULT_DEVICE_PLUGIN_IMAGE, description="`repo:tag`, `repo@sha256:...` or `repo:tag@sha256:...`"
    )
    image_digest: ImageDigest | None = Field(
        default=None, description="digest of `image`'s tag (`sha256:` and 64 hex): renders `repo:tag@sha256:...`"
    )
    resources: ContainerResources = Field(
        default=DEFAULT_DEVICE_PLUGIN_RESOURCES, description="default: requests 50m/64Mi, limits 200m/256Mi"
    )
    time_slicing: TimeSlicingConfig | None = Field(default=None, description="share each GPU; unset: no sharing")
    extra_tolerations: list[TolerationConfig] = Field(
        default_factory=list, description="for other taints the GPU pools carry (e.g. a spot taint)"
    )

    @field_validator("image_digest")
    @classmethod
    def _one_digest(cls, digest: str | None, info: ValidationInfo) -> str | None:
        return single_digest(info.data.get("image", ""), digest)
