"""The node agent's image, built once per test session by tools/image/build.sh (apt, crane, syft) and shared.

These tests need a Debian bookworm host with its package mirror and the Go module proxy (for crane and syft);
GNP_SKIP_IMAGE=1 skips them. Built images are read straight from their OCI layout: no engine is needed.
"""

from __future__ import annotations

import os
import pathlib

import pytest
from image_oci import BuiltImage, build_image

ROOT = pathlib.Path(__file__).resolve().parents[2]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = pathlib.Path(__file__).parent
    for item in items:
        if pathlib.Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.image)
            if os.environ.get("GNP_SKIP_IMAGE") == "1":
                item.add_marker(pytest.mark.skip(reason="GNP_SKIP_IMAGE=1"))


@pytest.fixture(scope="session")
def image(tmp_path_factory: pytest.TempPathFactory) -> BuiltImage:
    """Both platforms, as `make image` builds them: a copy of the kept image when its inputs are unchanged."""
    return build_image(tmp_path_factory.mktemp("image"))
