"""The toolchain builds what the Python packages expect: the versions pinned in pyproject.toml."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

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


def _build_sh_with(path_dir: Path) -> str:
    """What tools/pulumi/build.sh picks (its stdout) with `path_dir` first on PATH."""
    env = {**os.environ, "PATH": f"{path_dir}:{os.environ['PATH']}"}
    return subprocess.run([str(ROOT / "tools" / "pulumi" / "build.sh")], capture_output=True, text=True,
                          check=True, env=env).stdout.strip()


@pytest.mark.pulumi
def test_a_fitting_cli_on_path_is_used_instead_of_building(tmp_path, toolchain_path: str) -> None:
    cli_dir = Path(toolchain_path.split(":")[0])
    for name in ("pulumi", "pulumi-language-python"):
        (tmp_path / name).symlink_to(cli_dir / name)

    assert _build_sh_with(tmp_path).split(":")[0] == str(tmp_path)


@pytest.mark.pulumi
def test_a_cli_of_another_version_on_path_is_not_used(tmp_path, toolchain_path: str) -> None:
    (tmp_path / "pulumi").write_text("#!/bin/sh\necho v3.100.0\n")
    (tmp_path / "pulumi").chmod(0o755)
    (tmp_path / "pulumi-language-python").symlink_to(Path(toolchain_path.split(":")[0]) / "pulumi-language-python")

    assert _build_sh_with(tmp_path) == toolchain_path
