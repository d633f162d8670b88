"""What the image leaves out matters as much as what it holds: no shell, no package manager, no setuid file."""

from __future__ import annotations

import stat

import pytest
from image_oci import BuiltImage

pytestmark = [pytest.mark.image, pytest.mark.network]  # apt downloads the packages from the Debian mirror

ARCHES = ["amd64", "arm64"]
SHELLS = {"sh", "bash", "dash", "ash", "busybox", "zsh", "ksh"}
PACKAGE_MANAGERS = {"apt", "apt-get", "dpkg", "dpkg-deb", "pip", "pip3", "ensurepip"}


def _names(image: BuiltImage, arch: str) -> dict[str, int]:
    return {m.name.removeprefix("./"): m.mode for m in image.members(arch)}


@pytest.mark.parametrize("arch", ARCHES)
def test_no_shell_and_no_package_manager(image: BuiltImage, arch: str) -> None:
    names = _names(image, arch)
    found = sorted(
        n for n in names
        if n.rsplit("/", 1)[-1] in SHELLS | PACKAGE_MANAGERS
        and (n.startswith(("bin/", "usr/bin/", "sbin/", "usr/sbin/")) or "site-packages" in n or "gpu-node-agent/" in n)
    )
    assert found == []
    # pip installs need pip itself; the agent's folder has only what it runs.
    assert not [n for n in names if n.startswith("opt/gpu-node-agent/pip/")]
    assert "usr/bin/python3.11" in names


@pytest.mark.parametrize("arch", ARCHES)
def test_no_setuid_or_setgid_file(image: BuiltImage, arch: str) -> None:
    assert [n for n, mode in _names(image, arch).items() if mode & (stat.S_ISUID | stat.S_ISGID)] == []


@pytest.mark.parametrize("arch", ARCHES)
def test_base_files_as_distroless_has_them(image: BuiltImage, arch: str) -> None:
    members = {m.name.removeprefix("./"): m for m in image.members(arch)}
    assert members["tmp"].mode & 0o7777 == 0o1777
    assert (members["home/nonroot"].uid, members["home/nonroot"].gid) == (65532, 65532)
    assert members["etc/ssl/certs/ca-certificates.crt"].size > 100_000
    assert "var/lib/dpkg/status.d/libpython3.11-stdlib" in members
    # The standard library is precompiled (the root filesystem is read-only at run time).
    assert any(n.startswith("usr/lib/python3.11/__pycache__/") and n.endswith(".cpython-311.pyc") for n in members)
