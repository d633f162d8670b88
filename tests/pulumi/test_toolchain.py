"""The toolchain builds what the Python packages expect: the versions pinned in pyproject.toml."""

from __future__ import annotations

import re
import subprocess

import pytest
from gnp_pulumi import ROOT


def _toolchain_version(name: str) -> str:
    text = (ROOT / "tools" / "pulumi" / "toolchain.sh").read_text()
    return re.search(rf"^{name}=(\S+)$", text, re.M).group(1)


def _pyproject_pin(package: str) -> str:
    return re.search(rf'"{package}(>=[^"]+)"', (ROOT / "pyproject.toml").read_text()).group(1)


def test_the_cli_matches_the_pulumi_pin() -> None:
    version = _toolchain_version("PULUMI_VERSION")
    major, minor, _ = version.split(".")
    assert _pyproject_pin("pulumi") == f">={version},<{major}.{int(minor) + 1}"


def test_the_kubernetes_provider_matches_the_pulumi_kubernetes_pin() -> None:
    version = _toolchain_version("PULUMI_KUBERNETES_VERSION")
    major, minor, _ = version.split(".")
    assert _pyproject_pin("pulumi-kubernetes") == f">={version},<{major}.{int(minor) + 1}"


@pytest.mark.pulumi
def test_the_built_cli_reports_its_version(toolchain_path: str) -> None:
    cli_dir = toolchain_path.split(":")[0]
    out = subprocess.run([f"{cli_dir}/pulumi", "version"], capture_output=True, text=True, check=True,
                         env={"PULUMI_SKIP_UPDATE_CHECK": "true", "HOME": str(ROOT / ".state")}).stdout
    assert out.strip() == f"v{_toolchain_version('PULUMI_VERSION')}"
