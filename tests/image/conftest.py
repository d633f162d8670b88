"""The node agent's image, built once per test session by tools/image/build.sh (apt, crane, syft) and shared.

These tests need a Debian bookworm host with its package mirror and the Go module proxy (for crane and syft);
they are marked `image` and `network`, which GNP_SKIP_IMAGE=1 and GNP_SKIP_NETWORK=1 skip. Built images are read
straight from their OCI layout: no engine is needed.
"""

from __future__ import annotations

import pytest
from image_oci import BuiltImage, build_image


@pytest.fixture(scope="session")
def image(tmp_path_factory: pytest.TempPathFactory) -> BuiltImage:
    """Both platforms, as `make image` builds them: a copy of the kept image when its inputs are unchanged."""
    return build_image(tmp_path_factory.mktemp("image"))
