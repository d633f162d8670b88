"""The package's layers hold: import-linter's contract from pyproject, on the real tree and on one with an upward
import planted in it."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "components" / "gpu_node_pools"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(source_root: Path, config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(config), "--no-cache"],
        cwd=source_root, env={"PYTHONPATH": str(source_root), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=120,
    )


def test_the_package_keeps_its_layers() -> None:
    result = lint_imports(PACKAGE.parent, ROOT / "pyproject.toml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(("module", "upward_import", "reported"), [
    # config reaching up into a builder
    ("config/_model.py", "from ..manifests import _pod", "config._model -> gpu_node_pools.manifests._pod"),
    # one builder layer into its sibling
    ("manifests/device_plugin.py", "from ..aws import nodegroup",
     "manifests.device_plugin -> gpu_node_pools.aws.nodegroup"),
    # a builder into the registry above it
    ("aws/nodegroup.py", "from .. import parts", "aws.nodegroup -> gpu_node_pools.parts"),
    # the pure registry into Pulumi wiring
    ("parts.py", "from .pulumi_components import _k8s_resources",
     "parts -> gpu_node_pools.pulumi_components._k8s_resources"),
])
def test_an_upward_import_breaks_the_contract(tmp_path: Path, module: str, upward_import: str, reported: str) -> None:
    copy = tmp_path / "gpu_node_pools"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    target = copy / module
    target.write_text(target.read_text() + f"\n{upward_import}  # planted by the test\n")
    config = tmp_path / "pyproject.toml"
    config.write_text((ROOT / "pyproject.toml").read_text())
    assert "importlinter" in tomllib.loads(config.read_text())["tool"]

    result = lint_imports(tmp_path, config)

    assert result.returncode != 0
    assert "BROKEN" in result.stdout
    assert f"gpu_node_pools.{reported}" in result.stdout
