"""The component package from other languages: the YAML, TypeScript and Go programs of examples/ add it with
`pulumi package add`, deploy the local stack's in-cluster layer to the local cluster and destroy it again.

Each deploys exactly the objects the Python stack renders (`gpu-node-pools render --stack local`): the same set in
the program's Pulumi state and on the cluster. Bad input fails before any resource: the schema refuses a wrong enum
value or a missing key in the caller's language, the config models refuse the rest with the stack file's message.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from gnp_pulumi import ROOT, PulumiProject, existing, pulumi_env

pytestmark = [pytest.mark.pulumi, pytest.mark.cluster]

EXAMPLES = ROOT / "examples"
NPM_CACHE = Path(os.environ.get("GNP_CACHE", Path.home() / ".cache" / "gpu-node-pools")) / "npm"


def object_key(kind: str, namespace: str | None, name: str) -> str:
    return "/".join(p for p in (kind, namespace, name) if p)


def state_objects(project: PulumiProject) -> set[str]:
    """Kind/namespace/name of every Kubernetes object in the stack's state."""
    state = json.loads(project.run("stack", "export").stdout)
    found = set()
    for resource in state["deployment"].get("resources") or []:
        outputs = resource.get("outputs") or {}
        if resource["type"].startswith("kubernetes:") and "metadata" in outputs:
            meta = outputs["metadata"]
            found.add(object_key(outputs["kind"], meta.get("namespace"), meta["name"]))
    return found


def example(name: str, base: Path, toolchain_path: str, kubeconfig: Path, source: Path = EXAMPLES) -> PulumiProject:
    """A copy of examples/<name> (or of an `added` one under `source`) whose package entry points at this checkout,
    with a `local` stack on the test cluster."""
    project = added(name, base, toolchain_path) if source == EXAMPLES else project_in(
        Path(shutil.copytree(source / name, base / name, ignore=shutil.ignore_patterns("Pulumi.*.yaml"))),
        base, toolchain_path)
    project.run("stack", "init", "local")
    project.run("config", "set", "kubeconfig", str(kubeconfig))
    return project


def project_in(copy: Path, base: Path, toolchain_path: str) -> PulumiProject:
    return PulumiProject(dir=copy, env={**pulumi_env(base / f"{copy.name}-pulumi", toolchain_path),
                                        "npm_config_cache": str(NPM_CACHE)}, default_timeout=600)


def added(name: str, base: Path, toolchain_path: str) -> PulumiProject:
    """A copy of examples/<name> in `base` with this checkout's package added, and no stack yet."""
    copy = base / name
    shutil.copytree(EXAMPLES / name, copy, ignore=shutil.ignore_patterns("node_modules", "sdks", "Pulumi.*.yaml"))
    program = yaml.safe_load((copy / "Pulumi.yaml").read_text())
    assert program["packages"] == {"gpu-node-pools": "../../package"}, "the example must add this repo's package"
    program["packages"] = {"gpu-node-pools": str(ROOT / "package")}
    (copy / "Pulumi.yaml").write_text(yaml.safe_dump(program, sort_keys=False))
    project = project_in(copy, base, toolchain_path)
    # TypeScript installs its npm dependencies first; Go needs nothing: `package add` points go.mod's replace at
    # the generated SDK and runs `go mod tidy` (from the Go module cache, or the proxy when cold).
    if (copy / "package.json").exists():
        if shutil.which("npm") is None:
            pytest.fail("npm is not installed: the TypeScript example needs Node.js and npm", pytrace=False)
        npm = subprocess.run(["npm", "install", "--prefer-offline", "--no-audit", "--no-fund"], cwd=copy,
                             env=project.env, capture_output=True, text=True, timeout=600)
        assert npm.returncode == 0, npm.stderr[-3000:]
    project.run("package", "add", str(ROOT / "package"))
    return project


@pytest.fixture
def rendered(local_objects: list[dict[str, Any]]) -> set[str]:
    return {object_key(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]) for o in local_objects}


# TypeScript's npm install and Go's `go mod tidy` read their caches, and the registry or proxy when those are cold.
@pytest.fixture(params=["yaml", pytest.param("typescript", marks=pytest.mark.network),
                        pytest.param("go", marks=pytest.mark.network)])
def deployed(request: pytest.FixtureRequest, tmp_path: Path, toolchain_path: str, local_cluster: Any,
             local_objects: list[dict[str, Any]]) -> Iterator[PulumiProject]:
    assert existing(local_cluster, local_objects) == [], "the cluster already runs the layer: `make down` first"
    project = example(request.param, tmp_path, toolchain_path, local_cluster.kubeconfig)
    try:
        project.run("up", "--yes", "--skip-preview")
        yield project
    finally:
        project.run("destroy", "--yes", "--skip-preview", check=False)
    assert existing(local_cluster, local_objects) == [], "destroy left objects behind"


def test_the_program_deploys_the_objects_of_the_python_stack(deployed: PulumiProject, rendered: set[str],
                                                             local_cluster: Any,
                                                             local_objects: list[dict[str, Any]]) -> None:
    outputs = json.loads(deployed.run("stack", "output", "--json").stdout)

    assert state_objects(deployed) == rendered
    assert len(existing(local_cluster, local_objects)) == len(local_objects)
    assert len(outputs["objectIds"]) == len(rendered)
    assert outputs["gpuTaint"] == "nvidia.com/gpu=true:NoSchedule"


@pytest.fixture(scope="session")
def yaml_example(tmp_path_factory: pytest.TempPathFactory, toolchain_path: str) -> Path:
    """The YAML example with the package added, once (`package add` installs the plugin's requirements, seconds
    each time): each bad-input test starts from a copy."""
    base = tmp_path_factory.mktemp("yaml-example")
    added("yaml", base, toolchain_path)
    return base


def _yaml_with(prepared: Path, tmp_path: Path, toolchain_path: str, kubeconfig: Path, change: Any) -> PulumiProject:
    project = example("yaml", tmp_path, toolchain_path, kubeconfig, source=prepared)
    program = yaml.safe_load((project.dir / "Pulumi.yaml").read_text())
    change(program["resources"]["local"]["properties"])
    (project.dir / "Pulumi.yaml").write_text(yaml.safe_dump(program, sort_keys=False))
    return project


def _set(path: list[Any], value: Any) -> Any:
    def change(properties: dict[str, Any]) -> None:
        target = properties
        for key in path[:-1]:
            target = target[key]
        if value is None:
            del target[path[-1]]
        else:
            target[path[-1]] = value
    return change


@pytest.mark.parametrize(("change", "message"), [
    # Pulumi YAML checks top-level enums itself; nested ones are refused by the package's provider, by their type.
    (_set(["nodePools", 1, "kind"], "gpus"), "Invalid value gpus of type <class 'str'> for enum 'NodePoolKind'"),
    (_set(["cluster"], None), "Missing required property 'cluster'"),
    (_set(["nodePools", 1, "scaling", "min"], 5),
     "GpuPlatform 'local' args: nodePools[1].scaling: min (5) is greater than max (4)"),
], ids=["wrong-enum-value", "missing-required-key", "bad-value-for-the-model"])
def test_bad_input_fails_before_any_resource(yaml_example: Path, tmp_path: Path, toolchain_path: str,
                                             local_cluster: Any, change: Any, message: str) -> None:
    project = _yaml_with(yaml_example, tmp_path, toolchain_path, local_cluster.kubeconfig, change)

    up = project.run("up", "--yes", "--skip-preview", check=False)

    assert up.returncode != 0
    assert message in up.stdout + up.stderr, up.stdout[-3000:]
    assert state_objects(project) == set()
    state = json.loads(project.run("stack", "export").stdout)["deployment"].get("resources") or []
    # Only the stack and the package's default provider (no cloud or cluster object behind either).
    assert [r["type"] for r in state if r["type"] != "pulumi:pulumi:Stack"
            and not r["type"].startswith("pulumi:providers:")] == []
