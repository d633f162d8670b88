"""One truth for the local stack: what `make up` deploys is what the README's hand-driven commands see.

The stack is deployed the way `make up` deploys it (scripts/stack-up.sh, its step 5), then the README's command
runs as a user types it, `source scripts/env.sh; pulumi preview --stack local`: both in a throwaway copy of the
project whose local stack is the repo's, aimed at the test cluster, with its agent image built into a folder of
its own. The tests run in file order on one deployment, destroyed at the end.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from gnp_pulumi import PROJECT_WITH_IMAGE, ROOT, PulumiProject, existing, make_project

pytestmark = [pytest.mark.pulumi, pytest.mark.cluster]

NEW_DIGEST = "sha256:" + "c" * 64


def agent_daemonset_image(local_cluster) -> str:
    return local_cluster.kubectl("get", "daemonset", "-n", "gpu-node-agent", "gpu-node-agent", "-o",
                                 "jsonpath={.spec.template.spec.containers[0].image}").stdout


@pytest.fixture(scope="module")
def deployed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, toolchain_path: str,
             local_config: dict, local_cluster, local_objects) -> Iterator[tuple[PulumiProject, Path, dict]]:
    """(the project, its image build folder, the environment scripts/env.sh starts from) after stack-up.sh."""
    assert existing(local_cluster, local_objects) == [], "the cluster already runs the layer: `make down` first"
    base = tmp_path_factory.mktemp("hand-driven")
    build = base / "build" / "image"
    shutil.copytree(PROJECT_WITH_IMAGE / "build" / "image", build)
    config = {**local_config, "gpu-node-pools:nodeAgent": {"imageBuild": str(build)}}
    project = make_project(base / "project", toolchain_path, ROOT / "infra", {"local": config},
                           yaml.safe_load((ROOT / "Pulumi.yaml").read_text()))
    # No Pulumi variable of the test run's own: scripts/env.sh sets them all, from a state folder of this test's.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")} | {"GNP_STATE": str(base / "state")}
    up = shell(project, env, f"{ROOT}/scripts/stack-up.sh local --non-interactive")
    assert up.returncode == 0, up.stdout[-6000:] + up.stderr[-3000:]
    yield project, build, env
    destroy = shell(project, env, f"source {ROOT}/scripts/env.sh && pulumi destroy --stack local --yes --non-interactive")
    assert destroy.returncode == 0, destroy.stdout[-6000:] + destroy.stderr[-3000:]


def shell(project: PulumiProject, env: dict, command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", command], cwd=project.dir, env=env, capture_output=True, text=True,
                          timeout=600)


def hand_preview(project: PulumiProject, env: dict, *flags: str) -> subprocess.CompletedProcess[str]:
    """The README's hand-driven preview, as typed after `make up`."""
    return shell(project, env, f"source {ROOT}/scripts/env.sh && pulumi preview --stack local {' '.join(flags)}")


def test_the_agent_runs_the_image_built_in_the_stacks_folder(deployed, local_cluster) -> None:
    _, build, _ = deployed
    digest = (build / "digest").read_text().strip()
    assert agent_daemonset_image(local_cluster) == f"gpu-node-agent:0.1.0@{digest}"


def test_the_hand_driven_preview_right_after_the_deploy_shows_no_change(deployed) -> None:
    project, _, env = deployed
    preview = hand_preview(project, env, "--expect-no-changes", "--non-interactive")
    assert preview.returncode == 0, preview.stdout[-6000:] + preview.stderr[-3000:]


def test_a_rebuilt_image_is_the_one_change_the_hand_driven_preview_shows(deployed) -> None:
    project, build, env = deployed
    (build / "digest").write_text(NEW_DIGEST + "\n")
    preview = hand_preview(project, env, "--json")
    assert preview.returncode == 0, preview.stdout[-6000:] + preview.stderr[-3000:]
    changed = [s for s in json.loads(preview.stdout)["steps"] if s["op"] != "same"]
    # urn:pulumi:STACK::PROJECT::[PARENT$]TYPE::NAME
    assert [(s["op"], s["urn"].split("::")[2].split("$")[-1], s["urn"].split("::")[3]) for s in changed] == [
        ("update", "kubernetes:apps/v1:DaemonSet", "daemonset/gpu-node-agent/gpu-node-agent")]
    assert f"gpu-node-agent:0.1.0@{NEW_DIGEST}" in json.dumps(changed[0]["newState"])
