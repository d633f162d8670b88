"""The stack file's `metricsServer` key, and the metrics-server release that fits a cluster's Kubernetes version."""

from __future__ import annotations

import re

from pydantic import Field, ValidationInfo, field_validator

from ._model import ConfigModel
from .fields import ContainerResources
from .image import ImageDigest, PinnedImage, names_digest

__all__ = [
    "DEFAULT_METRICS_SERVER_IMAGE",
    "DEFAULT_METRICS_SERVER_RESOURCES",
    "METRICS_SERVER_IMAGE_REPOSITORY",
    "METRICS_SERVER_RELEASES",
    "MetricsServerConfig",
    "metrics_server_image",
]

METRICS_SERVER_IMAGE_REPOSITORY = "registry.k8s.io/metrics-server/metrics-server"
# (oldest Kubernetes minor it supports, release), newest first: the README's compatibility matrix says
# 0.9.x needs 1.34+ and 0.8.x supports 1.31+.
METRICS_SERVER_RELEASES: tuple[tuple[int, str], ...] = ((34, "v0.9.0"), (31, "v0.8.1"))
# Without a cluster version: the release that runs on every Kubernetes version we support.
DEFAULT_METRICS_SERVER_IMAGE = f"{METRICS_SERVER_IMAGE_REPOSITORY}:v0.8.1"
# Upstream requests; limits leave room for growth with the node count (upstream sets none). Ephemeral storage: it
# writes its self-signed certificate to /tmp (KiB) and logs, which the kubelet counts against the container and
# rotates at 5 x 10 MiB by default; the limit holds both with room, so a runaway writer is evicted, not the node.
DEFAULT_METRICS_SERVER_RESOURCES = ContainerResources(
    cpu="100m",
    memory="200Mi",
    cpu_limit="1",
    memory_limit="400Mi",
    ephemeral_storage="32Mi",
    ephemeral_storage_limit="128Mi",
)
_VERSION = re.compile(r"^v?(\d+)\.(\d+)(\.\d+)?")


class MetricsServerConfig(ConfigModel):
    """The stack file's `metricsServer` key."""

    enabled: bool = Field(default=True, description="deploy metrics-server (false where EKS's add-on runs one)")
    ha: bool = Field(default=False, description="2 replicas on different nodes and a PodDisruptionBudget")
    image: PinnedImage | None = Field(
        default=None, description="`repo:tag` or `repo@sha256:...`; default: the release for the cluster's version"
    )
    image_digest: ImageDigest | None = Field(
        default=None, description="digest of `image`'s tag (set image too): renders `repo:tag@sha256:...`"
    )
    register_api_service: bool = Field(
        default=True,
        description="register v1beta1.metrics.k8s.io; false where another metrics-server already serves it",
    )
    resources: ContainerResources = Field(
        default=DEFAULT_METRICS_SERVER_RESOURCES,
        description="default: requests 100m/200Mi/32Mi ephemeral, limits 1/400Mi/128Mi ephemeral",
    )
    extra_args: list[str] = Field(
        default_factory=list, description="flags; one named like an upstream flag replaces it"
    )

    @field_validator("image_digest")
    @classmethod
    def _digest_of_a_named_image(cls, digest: str | None, info: ValidationInfo) -> str | None:
        if not digest or "image" not in info.data:
            return digest
        image = info.data["image"]
        if image is None:
            # The default image follows the cluster version; a digest would silently outlive its tag.
            raise ValueError("imageDigest needs image: set image to the tag this digest belongs to")
        if names_digest(image):
            raise ValueError("image already names a digest: put it in image or in imageDigest, not both")
        return digest

    @field_validator("extra_args")
    @classmethod
    def _flags(cls, args: list[str]) -> list[str]:
        for arg in args:
            if not re.match(r"^--[a-z0-9][a-z0-9-]*(=.*)?$", arg):
                raise ValueError(f"{arg!r} is not a flag: write --name or --name=value")
        return args


def metrics_server_image(kubernetes_version: str) -> str:
    """The image of the newest metrics-server release that supports `kubernetes_version` (`1.33`, `v1.34.2`)."""
    match = _VERSION.match(kubernetes_version)
    if not match or match[1] != "1":
        raise ValueError(f"{kubernetes_version!r} is not a Kubernetes 1.x version")
    minor = int(match[2])
    for oldest_minor, release in METRICS_SERVER_RELEASES:
        if minor >= oldest_minor:
            return f"{METRICS_SERVER_IMAGE_REPOSITORY}:{release}"
    raise ValueError(f"no pinned metrics-server release supports Kubernetes {kubernetes_version}")
