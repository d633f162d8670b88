"""Every Debian package in the image is the newest apt offers (bookworm-security included), and scanners see
each one through its /var/lib/dpkg/status.d entry."""

from __future__ import annotations

import pathlib
import subprocess

import pytest
from image_oci import BuiltImage

pytestmark = [pytest.mark.image, pytest.mark.network]  # apt downloads the packages from the Debian mirror

ROOT = pathlib.Path(__file__).resolve().parents[2]
ARCHES = ["amd64", "arm64"]


def _listed() -> list[str]:
    lines = (ROOT / "node-agent" / "image" / "packages.txt").read_text().splitlines()
    return [line.split("#", 1)[0].strip() for line in lines if line.split("#", 1)[0].strip()]


def _locked(image: BuiltImage, arch: str) -> dict[str, str]:
    lines = (image.out / arch / "packages.lock").read_text().splitlines()
    return dict(line.split(" ", 1) for line in lines)


def _candidates(arch: str, packages: list[str]) -> dict[str, str]:
    """apt's candidate for each package, from the build's package lists (refreshed by that build)."""
    script = 'source tools/lib.sh; source tools/image/debs.sh; apt_cache_for "$0" policy "${@/%/:$0}"'
    out = subprocess.run(["bash", "-c", script, arch, *packages], cwd=ROOT, capture_output=True, text=True, check=True)
    candidates, name = {}, ""
    for line in out.stdout.splitlines():
        if not line.startswith(" "):
            name = line.rstrip(":").split(":")[0]
        elif line.strip().startswith("Candidate:"):
            candidates[name] = line.split(":", 1)[1].strip()
    return candidates


@pytest.mark.parametrize("arch", ARCHES)
def test_every_listed_package_is_aptss_newest(image: BuiltImage, arch: str) -> None:
    locked = _locked(image, arch)
    assert sorted(locked) == sorted(_listed())
    assert locked == _candidates(arch, _listed())


@pytest.mark.parametrize("arch", ARCHES)
def test_security_suite_is_a_source(arch: str, image: BuiltImage) -> None:
    script = 'source tools/lib.sh; source tools/image/debs.sh; apt_cache_for "$0" policy'
    out = subprocess.run(["bash", "-c", script, arch], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert "n=bookworm-security" in out


@pytest.mark.parametrize("arch", ARCHES)
def test_status_d_names_each_package_at_its_version(image: BuiltImage, arch: str) -> None:
    status = {}
    for member in image.members(arch):
        name = member.name.removeprefix("./")
        if name.startswith("var/lib/dpkg/status.d/") and not name.endswith(".md5sums") and member.isfile():
            status[name.rsplit("/", 1)[1]] = member
    assert sorted(status) == sorted(_listed())
    rootfs_index = image.manifest(arch)["layers"][0]["digest"]
    import tarfile

    algorithm, hex_digest = rootfs_index.split(":")
    with tarfile.open(image.out / "oci" / "blobs" / algorithm / hex_digest, "r:gz") as tar:
        for package, version in _locked(image, arch).items():
            stanza = tar.extractfile(status[package])
            assert stanza is not None
            fields = dict(
                line.split(": ", 1) for line in stanza.read().decode().splitlines() if ": " in line and line[0] != " "
            )
            assert (fields["Package"], fields["Version"]) == (package, version)
            assert fields["Architecture"] in (arch, "all")
