"""A Python component package used from Pulumi YAML and TypeScript through `pulumi package add`: the language
hosts of tools/pulumi/sets.sh (set pulumi_hosts) and our Python host, with a one-component package
(component_toy/) that needs no cluster. Offline apart from npm's registry for the TypeScript program's first run
(npm's cache is kept in $GNP_CACHE/npm)."""

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


def test_a_yaml_program_adds_the_package_deploys_and_destroys(tmp_path, toolchain_path, toy_package) -> None:
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
