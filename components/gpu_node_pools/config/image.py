"""Container image references: their grammar, pinning, and digests.

The grammar is distribution/reference's (what Docker, containerd and the kubelet parse): an optional registry
host and port, lowercase path components, then `:tag`, `@sha256:<64 hex>`, or both. With both, the runtime pulls
by the digest and the tag is only read by people, which is why a digest pins and a tag merely names.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

__all__ = [
    "ImageDigest",
    "ImageRepository",
    "PinnedImage",
    "image_problem",
    "image_repository",
    "image_with_digest",
    "names_digest",
    "single_digest",
]

_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_HOST_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOST = rf"(?:{_HOST_COMPONENT}(?:\.{_HOST_COMPONENT})*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?"
_NAME = rf"(?:{_HOST}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_DIGEST = r"sha256:[0-9a-f]{64}"
_REFERENCE = re.compile(
    rf"^(?P<name>{_NAME})(?::(?P<tag>[\w][\w.-]{{0,127}}))?(?:@(?P<digest>{_DIGEST}))?$", re.ASCII
)
_DIGEST_ONLY = re.compile(rf"^{_DIGEST}$")
_MAX_NAME_LENGTH = 255
_FORMS = "repository:tag, repository@sha256:<64 hex> or repository:tag@sha256:<64 hex>"


def image_problem(image: str) -> str | None:
    """Why `image` is not a pinned image reference; None when it is one."""
    match = _REFERENCE.match(image)
    if not match or len(match["name"]) > _MAX_NAME_LENGTH:
        return (
            f"image {image!r} is not an image reference: write {_FORMS} "
            "(a lowercase repository path, optionally after a registry host)"
        )
    if match["digest"] is None and match["tag"] in (None, "latest"):
        return f"image {image!r} must be pinned: name a tag other than 'latest', or a sha256 digest ({_FORMS})"
    return None


def image_repository(image: str) -> str:
    """The repository (registry host and path) of a valid image reference, without its tag or digest."""
    match = _REFERENCE.match(image)
    return match["name"] if match else image


def repository_problem(repository: str) -> str | None:
    """Why `repository` is not a push target (`registry-host[:port]/path`, no tag or digest); None when it is."""
    match = _REFERENCE.match(repository)
    if not match or match["tag"] or match["digest"] or len(repository) > _MAX_NAME_LENGTH:
        return (
            f"repository {repository!r} is not a push target: write registry-host/path with no tag or digest, "
            "e.g. 111122223333.dkr.ecr.us-west-2.amazonaws.com/gpu-node-agent"
        )
    host = repository.split("/", 1)[0]
    if "/" not in repository or not ("." in host or ":" in host or host == "localhost"):
        return (
            f"repository {repository!r} names no registry host: a push needs one (e.g. "
            "111122223333.dkr.ecr.us-west-2.amazonaws.com/gpu-node-agent or ghcr.io/OWNER/gpu-node-agent)"
        )
    return None


def names_digest(image: str) -> bool:
    """Whether a (valid) image reference pins a digest."""
    match = _REFERENCE.match(image)
    return bool(match and match["digest"])


def image_with_digest(image: str, digest: str | None) -> str:
    """`image` pinned to `digest` (`repo:tag@sha256:...`); `image` itself without one."""
    return f"{image}@{digest}" if digest else image


def _check_pinned_image(value: str) -> str:
    problem = image_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _check_digest(value: str) -> str:
    if not _DIGEST_ONLY.match(value):
        raise ValueError(f"{value!r} is not an image digest: write sha256: and 64 lowercase hex digits")
    return value


def _check_repository(value: str) -> str:
    problem = repository_problem(value)
    if problem:
        raise ValueError(problem)
    return value


PinnedImage = Annotated[str, AfterValidator(_check_pinned_image)]
ImageRepository = Annotated[str, AfterValidator(_check_repository)]
ImageDigest = Annotated[str, AfterValidator(_check_digest)]


def single_digest(image: str, digest: str | None) -> str | None:
    """`digest` (an `imageDigest` key) unless `image` already names one: a config says the digest once."""
    if digest and names_digest(image):
        raise ValueError("image already names a digest: put it in image or in imageDigest, not both")
    return digest
