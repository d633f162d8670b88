"""A Python component package used from Pulumi YAML, TypeScript and Python through `pulumi package add`: the
language hosts of tools/pulumi/sets.sh (set pulumi_hosts) and our Python host (plugin runs, dependency installs,
SDK generation), with a one-component package (component_toy/) that needs no cluster. Offline apart from the
package registries: npm for the TypeScript program (its cache is kept in $GNP_CACHE/npm) and PyPI where a
virtualenv is created (pip's own cache)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from gnp_pulumi import ROOT, PulumiProject, pulumi_env

TOY = Path(__file__).parent / "component_toy"
NPM_CACHE = Path(os.environ.get("GNP_CACHE", Path.home() / ".cache" / "gpu-node-pools")) / "npm"
PULUMI_NPM_VERSION = "3.259.0"  # the CLI's version (tools/pulumi/toolchain.sh)

pytestmark = pytest.mark.pulumi


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
    env = {**pulumi_env(base, toolchain_path), "npm_config_cache": str(NPM_CACHE)}
    return PulumiProject(dir=base, env=env, default_timeout=300)


def _yaml_program(shelf_properties: dict[str, object]) -> str:
    return yaml.safe_dump({
        "name": "toy-yaml", "runtime": "yaml",
        "resources": {"shelf": {"type": "toy:Shelf", "properties": shelf_properties}},
        "outputs": {"label": "${shelf.label}", "slots": "${shelf.slots}"},
    }, sort_keys=False)


def _resource_types(project: PulumiProject, stack: str) -> list[str]:
    state = json.loads(project.run("stack", "export", "--stack", stack).stdout)
    return [r["type"] for r in state["deployment"].get("resources") or []]


def test_the_schema_is_inferred_from_the_components_type_annotations(tmp_path, toolchain_path, toy_package) -> None:
    project = _consumer(tmp_path / "any", toolchain_path, {})
    schema = json.loads(project.run("package", "get-schema", str(toy_package)).stdout)

    shelf = schema["resources"]["toy:index:Shelf"]
    assert shelf["isComponent"] is True
    assert sorted(shelf["requiredInputs"]) == ["name", "tier"]
    assert shelf["inputProperties"]["tier"]["$ref"] == "#/types/toy:index:Tier"
    assert [v["value"] for v in schema["types"]["toy:index:Tier"]["enum"]] == ["gold", "silver"]


@pytest.mark.parametrize("beside_a_project", [False, True], ids=["plugin-only", "beside-Pulumi.yaml"])
def test_a_yaml_program_adds_the_package_deploys_and_destroys(
        tmp_path, toolchain_path, toy_package, beside_a_project) -> None:
    """Also from a folder that is a Pulumi project too (this repository's root holds both files)."""
    if beside_a_project:
        (toy_package / "Pulumi.yaml").write_text("name: toy-project\nruntime: python\nmain: elsewhere/\n")
    project = _consumer(tmp_path / "yaml", toolchain_path,
                        {"Pulumi.yaml": _yaml_program({"name": "books", "tier": "gold", "slots": 3})})
    project.run("package", "add", str(toy_package))
    assert yaml.safe_load((project.dir / "Pulumi.yaml").read_text())["packages"] == {"toy": str(toy_package)}
    project.run("stack", "init", "dev")

    project.run("up", "--yes", "--skip-preview")
    outputs = json.loads(project.run("stack", "output", "--json").stdout)
    project.run("destroy", "--yes")

    assert outputs == {"label": "books/gold", "slots": 3}
    assert _resource_types(project, "dev") == []


@pytest.mark.parametrize(("properties", "message"), [
    ({"name": "books", "tier": "platinum"}, 'Allowed values are GOLD ("gold"), SILVER ("silver")'),
    ({"tier": "gold"}, "Missing required property 'name'"),
], ids=["wrong-enum-value", "missing-required-key"])
def test_a_yaml_program_with_bad_input_fails_before_any_resource(
        tmp_path, toolchain_path, toy_package, properties, message) -> None:
    project = _consumer(tmp_path / "yaml", toolchain_path, {"Pulumi.yaml": _yaml_program(properties)})
    project.run("package", "add", str(toy_package))
    project.run("stack", "init", "dev")

    proc = project.run("up", "--yes", "--skip-preview", check=False)

    assert proc.returncode != 0
    assert message in proc.stdout + proc.stderr
    assert "toy:index:Shelf" not in _resource_types(project, "dev")


TS_FILES = {
    "Pulumi.yaml": "name: toy-ts\nruntime: nodejs\n",
    # The program runs through @pulumi/pulumi's bundled ts-node, which takes `typescript` from the program.
    "package.json": json.dumps({
        "name": "toy-ts", "private": True, "main": "index.ts",
        "dependencies": {"@pulumi/pulumi": PULUMI_NPM_VERSION},
        "devDependencies": {"@types/node": "^20", "typescript": "^5"},
    }),
    "tsconfig.json": json.dumps({"compilerOptions": {
        "strict": True, "target": "es2020", "module": "commonjs", "moduleResolution": "node",
        "skipLibCheck": True}, "files": ["index.ts"]}),
    "index.ts": 'import * as toy from "@pulumi/toy";\n\n'
                'const shelf = new toy.Shelf("shelf", { name: "books", tier: toy.Tier.SILVER });\n'
                "export const label = shelf.label;\n",
}


def test_a_typescript_program_adds_the_package_deploys_and_destroys(tmp_path, toolchain_path, toy_package) -> None:
    if shutil.which("npm") is None:
        pytest.fail("npm is not installed: the TypeScript consumer needs node and npm", pytrace=False)
    project = _consumer(tmp_path / "ts", toolchain_path, TS_FILES)
    npm = subprocess.run(["npm", "install", "--prefer-offline", "--no-audit", "--no-fund"], cwd=project.dir,
                         env=project.env, capture_output=True, text=True, timeout=600)
    assert npm.returncode == 0, npm.stderr[-3000:]

    project.run("package", "add", str(toy_package))
    assert json.loads((project.dir / "package.json").read_text())["dependencies"]["@pulumi/toy"] == "file:sdks/toy"
    project.run("stack", "init", "dev")
    project.run("up", "--yes", "--skip-preview")
    outputs = json.loads(project.run("stack", "output", "--json").stdout)
    project.run("destroy", "--yes")

    assert outputs == {"label": "books/silver"}
    assert _resource_types(project, "dev") == []


def test_a_plugin_without_its_virtualenv_gets_one_made_from_requirements_txt(tmp_path, toolchain_path) -> None:
    """Upstream's behaviour for a fresh checkout (`pulumi package add` from git): the plugin's `venv`, made on
    first use, with requirements.txt installed (pulumi from PyPI)."""
    package = tmp_path / "fresh"
    shutil.copytree(TOY, package)
    (package / "PulumiPlugin.yaml").write_text("runtime: python\n")  # no virtualenv option: upstream's "venv"
    (package / "requirements.txt").write_text(f"pulumi=={PULUMI_NPM_VERSION}\n")
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
