"""The policy pack in a real engine: it passes the local stack, and each policy stops a program that breaks it.

The EKS node-group policy needs pulumi-aws's provider, which is not built here; its rule is covered on plain
properties in test_policy_checks.py.
"""

from __future__ import annotations

import pytest
import yaml
from gnp_pulumi import ROOT, PulumiProject, make_project

pytestmark = [pytest.mark.pulumi, pytest.mark.cluster]

POLICY_PACK = str(ROOT / "policies")
KUBERNETES_POLICIES = [
    "containers-set-resources",
    "gpu-pods-tolerate-gpu-taint",
    "images-pinned",
    "containers-run-as-non-root",
    "priority-class-not-global-default",
]


def test_pack_passes_on_the_local_stack(project: PulumiProject, local_cluster) -> None:
    project.run("stack", "init", "local")
    preview = project.run("preview", "--stack", "local", "--policy-pack", POLICY_PACK)
    assert "gpu-node-pools@v0.1.0" in preview.stdout


def test_prod_policy_config_fails_images_without_a_digest(project: PulumiProject) -> None:
    """policies/prod.json turns on requireImageDigests; the local stack pins its images by tag only."""
    preview = project.run("preview", "--stack", "local", "--policy-pack", POLICY_PACK,
                          "--policy-pack-config", str(ROOT / "policies" / "prod.json"), check=False)
    assert preview.returncode != 0
    assert "[mandatory]  images-pinned" in preview.stdout, preview.stdout
    assert "has no sha256 digest" in preview.stdout, preview.stdout


@pytest.fixture(scope="module")
def violations(tmp_path_factory: pytest.TempPathFactory, toolchain_path: str, local_cluster) -> PulumiProject:
    program = ROOT / "tests" / "pulumi" / "policy_violations"
    project = make_project(tmp_path_factory.mktemp("violations"), toolchain_path, program, {},
                           yaml.safe_load((program / "Pulumi.yaml").read_text()))
    project.run("stack", "init", "test")
    project.run("config", "set", "kubeconfig", str(local_cluster.kubeconfig), "--stack", "test")
    return project


def preview_case(project: PulumiProject, case: str):
    project.run("config", "set", "case", case, "--stack", "test")
    return project.run("preview", "--stack", "test", "--policy-pack", POLICY_PACK, check=False)


def test_the_test_program_complies_when_it_breaks_nothing(violations: PulumiProject) -> None:
    preview = preview_case(violations, "none")
    assert preview.returncode == 0, preview.stdout + preview.stderr


@pytest.mark.parametrize("policy", KUBERNETES_POLICIES)
def test_breaking_a_policy_fails_with_its_name(violations: PulumiProject, policy: str) -> None:
    preview = preview_case(violations, policy)

    assert preview.returncode != 0
    assert f"[mandatory]  {policy}" in preview.stdout, preview.stdout
    assert [p for p in KUBERNETES_POLICIES if p != policy and p in preview.stdout] == [], preview.stdout
