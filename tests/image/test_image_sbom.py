"""The SBOMs syft writes list the Debian packages and every Python distribution the agent runs with."""

from __future__ import annotations

import json
import pathlib
import re

import pytest
from image_oci import BuiltImage

pytestmark = [pytest.mark.image, pytest.mark.network]  # apt downloads the packages from the Debian mirror

ROOT = pathlib.Path(__file__).resolve().parents[2]
ARCHES = ["amd64", "arm64"]


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _locked_python() -> dict[str, str]:
    """name -> version of each dependency the lock installs on Linux (uv writes `name==version ; marker \\`)."""
    pins = {}
    for line in (ROOT / "node-agent" / "image" / "requirements.lock").read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)==([^ ;\\]+)\s*(?:;\s*(.*?))?\s*\\?$", line)
        if match and "emscripten' and" not in (match.group(3) or "") and "== 'emscripten'" not in (match.group(3) or ""):
            pins[_normalise(match.group(1))] = match.group(2)
    return pins


@pytest.mark.parametrize("arch", ARCHES)
def test_spdx_lists_python_and_debian_packages(image: BuiltImage, arch: str) -> None:
    sbom = json.loads((image.out / arch / "sbom.spdx.json").read_text())
    assert sbom["spdxVersion"].startswith("SPDX-2.")
    found = {(_normalise(p["name"]), p.get("versionInfo")) for p in sbom["packages"]}
    expected = set(_locked_python().items()) | {("gpu-node-agent", "0.1.0")}
    assert expected <= found, f"missing from the SBOM: {sorted(expected - found)}"
    assert {"libpython3-11-stdlib", "libssl3", "libc6"} <= {name for name, _ in found}


@pytest.mark.parametrize("arch", ARCHES)
def test_cyclonedx_lists_python_packages_with_purls(image: BuiltImage, arch: str) -> None:
    sbom = json.loads((image.out / arch / "sbom.cdx.json").read_text())
    assert sbom["bomFormat"] == "CycloneDX"
    purls = {c.get("purl", "") for c in sbom["components"]}
    for name, version in _locked_python().items():
        assert any(p.startswith("pkg:pypi/") and _normalise(p[9:].split("@")[0]) == name and f"@{version}" in p
                   for p in purls), f"{name}=={version} not in the CycloneDX SBOM"
    assert any(p.startswith("pkg:deb/debian/libssl3@") and f"arch={arch}" in p for p in purls)
