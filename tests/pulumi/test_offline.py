"""Offline behaviour: a missing plugin and missing AWS credentials fail at once, with a message that says so."""

from __future__ import annotations

import os
import time

import pytest
import yaml
from gnp_pulumi import ROOT, make_project, repo_stack_config

pytestmark = pytest.mark.pulumi
FAST = 90  # seconds: the program and plugins start in well under this; a hang would wait on timeouts


def _project(base, toolchain_path: str, stack: str):
    project_file = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    project = make_project(base, toolchain_path, ROOT / "infra", {stack: repo_stack_config(stack)}, project_file)
    project.run("stack", "init", stack)
    return project


def test_a_missing_provider_plugin_fails_fast_and_names_it(tmp_path, toolchain_path: str) -> None:
    cli_dir = toolchain_path.split(":")[0]
    project = _project(tmp_path, cli_dir, "local")  # the Kubernetes provider is not on PATH
    assert "pulumi-resource-kubernetes" not in os.listdir(cli_dir)

    start = time.monotonic()
    preview = project.run("preview", "--stack", "local", check=False, timeout=FAST)

    assert preview.returncode != 0
    assert "pulumi-resource-kubernetes" in preview.stdout + preview.stderr, preview.stdout + preview.stderr
    assert time.monotonic() - start < FAST


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_eks_stacks_without_aws_credentials_fail_fast(tmp_path, toolchain_path: str, stack: str) -> None:
    project = _project(tmp_path, toolchain_path, stack)
    env = {k: v for k, v in project.env.items() if not k.startswith("AWS_")}
    env["HOME"] = str(tmp_path)  # no ~/.aws
    env["AWS_EC2_METADATA_DISABLED"] = "true"  # the check resolves botocore's whole chain; an EC2 runner has a role

    start = time.monotonic()
    preview = project.run("preview", "--stack", stack, check=False, timeout=FAST, env=env)

    assert preview.returncode != 0
    assert "no AWS credentials" in preview.stdout, preview.stdout + preview.stderr
    assert time.monotonic() - start < FAST
