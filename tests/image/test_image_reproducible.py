"""Same inputs, same image: a second build in another folder gives the same digest."""

from __future__ import annotations

import pytest
from image_oci import BuiltImage, build_image

pytestmark = [pytest.mark.image, pytest.mark.network]  # apt downloads the packages from the Debian mirror


def test_second_build_in_another_folder_has_the_same_digest(
    image: BuiltImage, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # amd64 alone keeps the second build short; each platform's digest is what the index lists. Built afresh: a
    # copy of the kept image would prove nothing.
    again = build_image(tmp_path_factory.mktemp("again"), "amd64", fresh=True)
    assert again.out != image.out
    assert again.arch_digest("amd64") == image.arch_digest("amd64")
    assert (again.out / "amd64" / "packages.lock").read_text() == (image.out / "amd64" / "packages.lock").read_text()
