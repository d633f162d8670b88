"""Helpers for real `pulumi` runs in a throwaway copy of a project (fixtures are in conftest.py)."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
# A project folder as `make image` leaves it: the repo's stacks, and a made-up image in build/image.
PROJECT_WITH_IMAGE = ROOT / "tests" / "data" / "project-with-image"
# Encrypts the throwaway stacks' secrets; nothing secret is stored in them.
PASSPHRASE = "gpu-node-pools-test-only"


@dataclass
class PulumiProject:
    """A throwaway copy of the project: Pulumi.yaml pointing at the repo's program, stack files of its own."""

    dir: Path
    env: dict[str, str]
    default_timeout: float = 600

    def stack_file(self, stack: str) -> Path:
        return self.dir / "stacks" / f"Pulumi.{stack}.yaml"

    def write_stack(self, stack: str, config: dict[str, Any]) -> Path:
        """Writes the stack's config, keeping the encryption salt `pulumi stack init` put there."""
        path = self.stack_file(stack)
        current = yaml.safe_load(path.read_text()) if path.exists() else {}
        path.write_text(yaml.safe_dump({**current, "config": config}, sort_keys=False))
        return path

    def run(self, *args: str, check: bool = True, timeout: float | None = None,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        cmd = ["pulumi", "--non-interactive", "--color", "never", *args]
        proc = subprocess.run(cmd, cwd=self.dir, env=env or self.env, capture_output=True, text=True,
                              timeout=timeout or self.default_timeout)
        if check and proc.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-6000:]}\n"
                                 f"{proc.stderr[-3000:]}")
        return proc


def pulumi_env(base: Path, toolchain_path: str) -> dict[str, str]:
    """The environment of an offline `pulumi` run whose state and PULUMI_HOME live in `base`."""
    (base / "state").mkdir(parents=True, exist_ok=True)
    (base / "home").mkdir(exist_ok=True)
    return {
        **os.environ,
        "PATH": f"{toolchain_path}:{ROOT / '.venv' / 'bin'}:{os.environ['PATH']}",
        "PULUMI_BACKEND_URL": f"file://{base / 'state'}",
        "PULUMI_HOME": str(base / "home"),
        "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
    }


def make_project(base: Path, toolchain_path: str, program: Path, stacks: dict[str, dict[str, Any]],
                 project_file: dict[str, Any]) -> PulumiProject:
    base.mkdir(parents=True, exist_ok=True)
    (base / "stacks").mkdir(exist_ok=True)
    project_file = {**project_file, "main": os.path.relpath(program, base), "stackConfigDir": "stacks"}
    options = project_file.get("runtime", {}).get("options", {}) if isinstance(project_file.get("runtime"), dict) else {}
    if "virtualenv" in options:  # relative to the repo, not to this copy
        options["virtualenv"] = str(ROOT / options["virtualenv"])
    (base / "Pulumi.yaml").write_text(yaml.safe_dump(project_file, sort_keys=False))
    project = PulumiProject(dir=base, env=pulumi_env(base, toolchain_path))
    for stack, config in stacks.items():
        project.write_stack(stack, config)
    return project


def repo_stack_config(stack: str) -> dict[str, Any]:
    """The `config:` map of stacks/Pulumi.<stack>.yaml, without its encryption salt (a copy gets its own), its
    nodeAgent.imageBuild pointed at the fixture project's made-up image (the program reads it relative to the repo)."""
    config = yaml.safe_load((ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())["config"]
    agent = config.get("gpu-node-pools:nodeAgent") or {}
    if "imageBuild" in agent:
        config["gpu-node-pools:nodeAgent"] = {**agent, "imageBuild": str(PROJECT_WITH_IMAGE / agent["imageBuild"])}
    return config


def object_ref(obj: dict[str, Any]) -> list[str]:
    """kubectl arguments that name one object."""
    meta = obj["metadata"]
    group = obj["apiVersion"].rpartition("/")[0]
    kind = f"{obj['kind'].lower()}.{group}" if group else obj["kind"].lower()
    return [kind, meta["name"], *(["-n", meta["namespace"]] if meta.get("namespace") else [])]


def existing(cluster: Any, objects: list[dict[str, Any]]) -> list[str]:
    """The objects of `objects` that exist on the cluster, as kind/namespace/name, in their order: one
    `kubectl get -f` for all of them (a kind the cluster doesn't serve fails it)."""
    def key(obj: dict[str, Any]) -> str:
        return "/".join(p for p in (obj["kind"], obj["metadata"].get("namespace"), obj["metadata"]["name"]) if p)

    proc = cluster.kubectl("get", "-f", "-", "-o", "json", "--ignore-not-found", input=yaml.safe_dump_all(objects))
    answer = json.loads(proc.stdout) if proc.stdout.strip() else {"kind": "List", "items": []}
    found = {key(o) for o in (answer["items"] if answer["kind"] == "List" else [answer])}
    return [key(o) for o in objects if key(o) in found]
