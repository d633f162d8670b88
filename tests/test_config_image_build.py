"""`nodeAgent.imageBuild`: the stack file names the folder `make image` builds into, and what deploys (the stack
program) and what shows it (`render`, `plan`) run the image built there, by its digest; nothing else needs it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml
from pulumi_harness import PROJECT_WITH_IMAGE, run_program, stack_config

from gpu_node_pools import script_commands
from gpu_node_pools.cli import main
from gpu_node_pools.config.platform import ConfigError
from gpu_node_pools.config.stack_files import load_stack, resolve_image_build

FIXTURE_DIGEST = (PROJECT_WITH_IMAGE / "build" / "image" / "digest").read_text().strip()
KEY = "gpu-node-pools:nodeAgent.imageBuild"


def build(folder: Path, digest: str | None = "sha256:" + "b" * 64, config: dict | None = None) -> Path:
    """What `make image` leaves in `folder` (the index digest, amd64's image config); None leaves a file out."""
    (folder / "amd64").mkdir(parents=True)
    if digest is not None:
        (folder / "digest").write_text(digest + "\n")
    if config is not None:
        (folder / "amd64" / "config.json").write_text(json.dumps(config))
    return folder


def labelled(version: str) -> dict:
    return {"config": {"Labels": {"org.opencontainers.image.version": version}}}


def project(root: Path, agent: dict) -> Path:
    """A project whose `local` stack is the repo's with nodeAgent replaced by `agent`."""
    (root / "stacks").mkdir(parents=True)
    shutil.copy(PROJECT_WITH_IMAGE / "Pulumi.yaml", root / "Pulumi.yaml")
    document = yaml.safe_load((PROJECT_WITH_IMAGE / "stacks" / "Pulumi.local.yaml").read_text())
    document["config"]["gpu-node-pools:nodeAgent"] = agent
    (root / "stacks" / "Pulumi.local.yaml").write_text(yaml.safe_dump(document))
    return root


def agent_image(root: Path) -> str | None:
    return load_stack("local", root, resolve_image=True).node_agent.image


def test_the_local_stack_runs_the_image_built_in_build_image() -> None:
    assert agent_image(PROJECT_WITH_IMAGE) == f"gpu-node-agent:0.1.0@{FIXTURE_DIGEST}"


def test_an_absolute_folder_and_another_build(tmp_path: Path) -> None:
    folder = build(tmp_path / "out", config=labelled("1.2.3"))
    root = project(tmp_path / "p", {"imageBuild": str(folder)})
    assert agent_image(root) == "gpu-node-agent:1.2.3@sha256:" + "b" * 64


@pytest.mark.parametrize(
    ("digest", "config", "says"),
    [
        (None, labelled("0.1.0"), "build/image/digest is missing): run `make image`"),
        ("sha256:" + "b" * 64, None, "build/image/amd64/config.json is missing): run `make image`"),
        ("sha256:" + "b" * 64, {"config": {"Labels": None}}, "config.json has no org.opencontainers.image.version label"),
        ("sha256:" + "b" * 64, {"architecture": "amd64"}, "config.json has no org.opencontainers.image.version label"),
        ("sha256:abc", labelled("0.1.0"), "name no pinned image"),
        ("", labelled("0.1.0"), "name no pinned image"),
        ("sha256:" + "b" * 64, labelled("not a tag!"), "name no pinned image"),
    ],
    ids=["no digest", "no image config", "no labels", "no version label", "short digest", "empty digest",
         "bad version"],
)
def test_a_missing_or_broken_build_names_the_key_and_the_file(
    tmp_path: Path, digest: str | None, config: dict | None, says: str
) -> None:
    build(tmp_path / "build" / "image", digest, config)
    root = project(tmp_path, {"imageBuild": "build/image"})
    with pytest.raises(ConfigError) as error:
        agent_image(root)
    assert str(error.value).startswith(f"stacks/Pulumi.local.yaml: {KEY}: ")
    assert says in str(error.value)


def test_nothing_built_yet(tmp_path: Path) -> None:
    root = project(tmp_path, {"imageBuild": "build/image"})
    with pytest.raises(ConfigError, match=rf"{KEY}: no agent image is built in {tmp_path}/build/image "
                                          rf"\({tmp_path}/build/image/digest is missing\): run `make image`"):
        agent_image(root)


def test_a_disabled_agent_reads_no_build(tmp_path: Path) -> None:
    config = load_stack("local", project(tmp_path, {"enabled": False, "imageBuild": "build/image"}))
    assert resolve_image_build(config, tmp_path, "x") is config


@pytest.mark.parametrize(("entry", "command", "code"), [
    (main, "render", 2), (main, "plan", 2), (main, "pools", 0), (main, "alerts", 0),
    (script_commands.main, "simulated-nodes", 0),
])
def test_only_the_commands_that_build_the_agent_need_the_image(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], entry: Any, command: str, code: int
) -> None:
    """`make cluster-up` (simulated-nodes) and the alert rules work before `make image`."""
    root = project(tmp_path, {"imageBuild": "build/image"})
    assert entry(["--project-dir", str(root), command, "--stack", "local"]) == code
    if code:
        assert f"{KEY}: no agent image is built in" in capsys.readouterr().err


def test_render_shows_the_built_image(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--project-dir", str(PROJECT_WITH_IMAGE), "render", "--stack", "local"]) == 0
    objects = [o for o in yaml.safe_load_all(capsys.readouterr().out) if o]
    daemonset = next(o for o in objects if o["kind"] == "DaemonSet" and o["metadata"]["name"] == "gpu-node-agent")
    assert daemonset["spec"]["template"]["spec"]["containers"][0]["image"] == f"gpu-node-agent:0.1.0@{FIXTURE_DIGEST}"


def test_the_stack_program_deploys_the_built_image() -> None:
    declared = run_program("local")
    images = [c["image"] for r in declared if r.type == "kubernetes:apps/v1:DaemonSet"
              and r.inputs["metadata"]["name"] == "gpu-node-agent" for c in r.inputs["spec"]["template"]["spec"]["containers"]]
    assert images == [f"gpu-node-agent:0.1.0@{FIXTURE_DIGEST}"]


def test_the_stack_program_fails_naming_the_key_when_nothing_is_built(tmp_path: Path) -> None:
    config = stack_config("local")
    config["gpu-node-pools:nodeAgent"] = json.dumps({"imageBuild": str(tmp_path / "build" / "image")})
    with pytest.raises(pulumi.RunError, match=rf"{KEY}: no agent image is built in {tmp_path}/build/image"):
        run_program("local", config)
