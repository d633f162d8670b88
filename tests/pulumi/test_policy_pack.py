"""The policy pack in a real engine: it passes the local stack and reads its policy config (on the local cluster),
and each policy stops the resource of a small program that breaks it (one preview for all of them, no cluster).

The EKS node-group policy needs pulumi-aws's provider, which is not built here; its rule is covered on plain
properties in test_policy_checks.py.
"""

from __future__ import annotations

import pytest
import yaml
from gnp_pulumi import ROOT, PulumiProject, make_project

pytestmark = pytest.mark.pulumi

POLICY_PACK = str(ROOT / "policies")
KUBERNETES_POLICIES = [
    "containers-set-resources",
    "gpu-pods-tolerate-gpu-taint",
    "images-pinned",
    "containers-run-as-non-root",
    "priority-class-not-global-default",
]


@pytest.mark.cluster
def test_pack_passes_on_the_local_stack(project: PulumiProject, local_cluster) -> None:
    project.run("stack", "init", "local")
    preview = project.run("preview", "--stack", "local", "--policy-pack", POLICY_PACK)
    assert "gpu-node-pools@v0.1.0" in preview.stdout


@pytest.mark.cluster
def test_prod_policy_config_fails_images_without_a_digest(project: PulumiProject) -> None:
    """policies/prod.json turns on requireImageDigests; the local stack pins its images by tag only."""
    preview = project.run("preview", "--stack", "local", "--policy-pack", POLICY_PACK,
                          "--policy-pack-config", str(ROOT / "policies" / "prod.json"), check=False)
    assert preview.returncode != 0
    assert "[mandatory]  images-pinned" in preview.stdout, preview.stdout
    assert "has no sha256 digest" in preview.stdout, preview.stdout


@pytest.fixture(scope="module")
def violations(tmp_path_factory: pytest.TempPathFactory, toolchain_path: str) -> PulumiProject:
    program = ROOT / "tests" / "pulumi" / "policy_violations"
    base = tmp_path_factory.mktemp("violations")
    project = make_project(base, toolchain_path, program, {}, yaml.safe_load((program / "Pulumi.yaml").read_text()))
    project.run("stack", "init", "test")
    project.run("config", "set", "renderDir", str(base / "rendered"), "--stack", "test")
    return project


def test_each_policy_stops_the_resource_that_breaks_it_and_no_other(violations: PulumiProject) -> None:
    """One preview for the whole pack: the rules' edges are test_policy_checks.py's; here each policy's wiring."""
    preview = violations.run("preview", "--stack", "test", "--policy-pack", POLICY_PACK, check=False)

    assert preview.returncode != 0
    reports = {block.split()[0]: block for block in preview.stdout.split("[mandatory]  ")[1:]}
    assert sorted(reports) == sorted(KUBERNETES_POLICIES), preview.stdout
    for policy, report in reports.items():
        assert [p for p in KUBERNETES_POLICIES if f"gnp-{p}" in report] == [policy], report
