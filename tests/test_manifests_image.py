"""Image references: distribution/reference's grammar, pinned by a tag other than latest or by a sha256 digest."""

from __future__ import annotations

import pytest
from gpu_node_pools.config.image import image_problem, image_with_digest, names_digest

DIGEST = "sha256:" + "0123456789abcdef" * 4


@pytest.mark.parametrize(
    ("image", "digest"),
    [
        ("nvcr.io/nvidia/k8s-device-plugin:v0.18.2", False),
        (f"nvcr.io/nvidia/k8s-device-plugin@{DIGEST}", True),
        (f"registry.k8s.io/metrics-server/metrics-server:v0.8.1@{DIGEST}", True),
        ("111122223333.dkr.ecr.us-west-2.amazonaws.com/gpu-node-agent:0.1.0", False),
        ("localhost:5000/gpu-node-agent:0.1.0", False),
        ("[::1]:5000/gpu-node-agent:0.1.0", False),
        ("gpu-node-agent:local", False),
        ("team/gpu_node.agent__x:1.0-rc.1", False),
        (f"gpu-node-agent:latest@{DIGEST}", True),  # the digest pins it, whatever the tag says
    ],
)
def test_pinned_references_are_accepted(image: str, digest: bool) -> None:
    assert image_problem(image) is None
    assert names_digest(image) is digest


@pytest.mark.parametrize(
    ("image", "problem"),
    [
        ("gpu-node-agent", "must be pinned"),
        ("gpu-node-agent:latest", "must be pinned"),
        ("registry.example.com:5000/gpu-node-agent", "must be pinned"),  # a port is not a tag
        ("registry.example.com/GPU-node-agent:1", "not an image reference"),  # repository paths are lowercase
        ("gpu-node-agent@sha256:abc", "not an image reference"),  # a short digest
        (f"gpu-node-agent@sha512:{'a' * 128}", "not an image reference"),  # only sha256 here
        (f"gpu-node-agent@{DIGEST.upper()}", "not an image reference"),
        ("gpu-node-agent:1.0 ", "not an image reference"),
        ("gpu-node-agent:-1", "not an image reference"),
        ("https://registry.example.com/agent:1", "not an image reference"),
        ("", "not an image reference"),
        ("a" * 256 + ":1", "not an image reference"),
    ],
)
def test_other_references_are_refused_with_the_accepted_forms(image: str, problem: str) -> None:
    message = image_problem(image)
    assert message is not None and problem in message
    assert "repository:tag@sha256:<64 hex>" in message


@pytest.mark.parametrize(
    ("image", "digest", "expected"),
    [
        ("nvcr.io/nvidia/k8s-device-plugin:v0.18.2", None, "nvcr.io/nvidia/k8s-device-plugin:v0.18.2"),
        ("nvcr.io/nvidia/k8s-device-plugin:v0.18.2", DIGEST, f"nvcr.io/nvidia/k8s-device-plugin:v0.18.2@{DIGEST}"),
    ],
)
def test_a_digest_is_appended_to_the_tag(image: str, digest: str | None, expected: str) -> None:
    assert image_with_digest(image, digest) == expected
    assert image_problem(expected) is None
