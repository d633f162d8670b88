"""What our built Python language host does for a component package that the real package's programs
(test_package_programs.py: YAML, TypeScript and Go, on the local cluster) don't show: a Python program that adds a
package (SDK generation, linking into requirements.txt, install into the program's virtualenv) and a plugin checked
out without its virtualenv. The package is a one-component toy (component_toy/) that needs no cluster. Both reach
PyPI (pip's own cache first): a fresh virtualenv installs pulumi, and pip builds the linked SDK."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from gnp_pulumi import ROOT, PulumiProject, pulumi_env

TOY = Path(__file__).parent / "component_toy"
PULUMI_VERSION = "3.259.0"  # the CLI's version (tools/pulumi/toolchain.sh)

pytestmark = [pytest.mark.pulumi, pytest.mark.network]


@pytest.fixture
def toy_package(tmp_path: Path) -> Path:
    """A copy of component_toy/ whose PulumiPlugin.yaml runs it with the repo's .venv (it has pulumi)."""
    package = tmp_path / "toy"
    shutil.copytree(TOY, package)
    (package / "PulumiPlugin.yaml").write_text(yaml.safe_dump(
        {"runtime": {"name": "python", "options": {"virtualenv": str(ROOT / ".venv")}}}))
    return package


def _site_packages(venv: Path) -> Path:
    return next((venv / "lib").glob("python3*/site-packages"))


def _consumer(base: Path, toolchain_path: str, files: dict[str, str]) -> PulumiProject:
    base.mkdir(parents=True)
    for name, text in files.items():
        (base / name).write_text(text)
    return PulumiProject(dir=base, env=pulumi_env(base, toolchain_path), default_timeout=300)


def _resource_types(project: PulumiProject, stack: str) -> list[str]:
    state = json.loads(project.run("stack", "export", "--stack", stack).stdout)
    return [r["type"] for r in state["deployment"].get("resources") or []]


def test_a_plugin_without_its_virtualenv_gets_one_made_from_requirements_txt(tmp_path, toolchain_path) -> None:
    """Upstream's behaviour for a fresh checkout (`pulumi package add` from git): the plugin's `venv`, made on
    first use, with requirements.txt installed (pulumi from PyPI)."""
    package = tmp_path / "fresh"
    shutil.copytree(TOY, package)
    (package / "PulumiPlugin.yaml").write_text("runtime: python\n")  # no virtualenv option: upstream's "venv"
    (package / "requirements.txt").write_text(f"pulumi=={PULUMI_VERSION}\n")
    project = _consumer(tmp_path / "any", toolchain_path, {})

    schema = json.loads(project.run("package", "get-schema", str(package)).stdout)

    assert "toy:index:Shelf" in schema["resources"]
    assert (_site_packages(package / "venv") / "pulumi").is_dir()


def test_a_python_program_adds_the_package_deploys_and_destroys(tmp_path, toolchain_path, toy_package) -> None:
    """GeneratePackage and Link of our Python host: the SDK in sdks/toy, linked into requirements.txt and
    installed into the program's virtualenv (which sees the repo's .venv packages through a .pth file)."""
    project = _consumer(tmp_path / "py", toolchain_path, {
        "Pulumi.yaml": "name: toy-py\nruntime:\n  name: python\n  options:\n    virtualenv: venv\n",
        "requirements.txt": "# linked SDKs are added below\n",
        "__main__.py": "import pulumi\nimport pulumi_toy as toy\n\n"
                       'shelf = toy.Shelf("shelf", name="books", tier=toy.Tier.GOLD, slots=2)\n'
                       'pulumi.export("label", shelf.label)\npulumi.export("slots", shelf.slots)\n',
    })
    venv = subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "-m", "venv", str(project.dir / "venv")],
                          capture_output=True, text=True)
    assert venv.returncode == 0, venv.stderr
    (_site_packages(project.dir / "venv") / "repo-venv.pth").write_text(f"{_site_packages(ROOT / '.venv')}\n")

    project.run("package", "add", str(toy_package))
    assert "sdks/toy" in (project.dir / "requirements.txt").read_text().splitlines()
    project.run("stack", "init", "dev")
    project.run("up", "--yes", "--skip-preview")
    outputs = json.loads(project.run("stack", "output", "--json").stdout)
    project.run("destroy", "--yes")

    assert outputs == {"label": "books/gold", "slots": 2}
    assert _resource_types(project, "dev") == []
