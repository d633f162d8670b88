"""Real `pulumi` runs against the local cluster: the toolchain from tools/pulumi/build.sh, a throwaway project.

Every run uses a copy of the project file and stack config in a temporary folder (main: the repo's infra/),
its own file backend and PULUMI_HOME, so tests never write into stacks/ or .state/pulumi. Tests marked `pulumi`
skip only when GNP_SKIP_CLUSTER=1, like the cluster tests (tests/conftest.py).
"""

from __future__ import annotations

import subprocess

import pytest
import yaml
from gnp_cluster import announce, render_stack
from gnp_pulumi import ROOT, PulumiProject, make_project, repo_stack_config


@pytest.fixture(scope="session")
def toolchain_path() -> str:
    """PATH entries of the Pulumi toolchain, built (or reused from the cache) by tools/pulumi/build.sh."""
    build = subprocess.run([str(ROOT / "tools" / "pulumi" / "build.sh")], capture_output=True, text=True)
    if build.returncode != 0:
        pytest.fail(f"tools/pulumi/build.sh failed ({build.returncode}):\n{build.stderr[-4000:]}", pytrace=False)
    return build.stdout.strip()


@pytest.fixture(scope="session")
def local_objects() -> list[dict]:
    """Every Kubernetes object of the local stack's in-cluster layer, as `gpu-node-pools render` prints them."""
    return render_stack("local")


@pytest.fixture(scope="module")
def local_config(local_cluster) -> dict:
    """The local stack's config, aimed at the cluster the fixture runs (its own state folder, see gnp_cluster.STATE)."""
    config = repo_stack_config("local")
    config["gpu-node-pools:cluster"]["kubeconfig"] = str(local_cluster.kubeconfig)
    return config


@pytest.fixture(scope="module")
def project(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, toolchain_path: str,
            local_config: dict) -> PulumiProject:
    """The real project (program infra/, the local stack's config) in a throwaway backend."""
    announce(request.config, f"pulumi: {request.module.__name__}: real engine runs on the local cluster "
                             "(a few seconds to a minute each)")
    project_file = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    return make_project(tmp_path_factory.mktemp("project"), toolchain_path, ROOT / "infra",
                        {"local": local_config}, project_file)
