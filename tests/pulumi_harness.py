"""The repo's stack program under Pulumi's mocks (gpu_node_pools.mock_engine), as the tests run it: with the
shipped stacks' example values replaced as a user replaces them, and with the AWS CLI on PATH or not."""

from __future__ import annotations

import functools
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from gpu_node_pools.mock_engine import DeclaredResource, LiveNodeGroups, MockEngine, program_config, run_stack_program

ROOT = Path(__file__).resolve().parent.parent
# A project folder as `make image` leaves it: the repo's Pulumi.yaml and stacks, and build/image holding a made-up
# image (digest, version label). A stack whose nodeAgent.imageBuild names build/image reads its image there, so no
# test needs `make image`.
PROJECT_WITH_IMAGE = ROOT / "tests" / "data" / "project-with-image"

# What a user puts in place of the shipped stacks' example values before a first deploy (a deploy refuses them:
# config/placeholders.py): their account, the digests they looked up, their VPC's subnets, the networks and security
# group that may reach the API endpoint.
USER_VALUES = {
    "111122223333": "210987654321",
    "sha256:" + "0" * 64: "sha256:" + "5e" * 32,
    "subnet-0a1b2c3d4e5f6": "subnet-0d2e7a91c4b3f",
    "subnet-0f1e2d3c4b5a6": "subnet-0b7c1e94a2d5f",
    "sg-0f1e2d3c4b5a6": "sg-0c5d9e83b1a4f",
    "203.0.113.0/24": "34.220.10.0/24",
}


def stack_config(stack: str, *, filled: bool = True) -> dict[str, str]:
    """The stack file's config as the CLI feeds it; `filled`: with the example values replaced, as a user does."""
    text = (ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text()
    for example, value in USER_VALUES.items() if filled else ():
        text = text.replace(example, value)
    raw = yaml.safe_load(text)["config"]
    agent = raw.get("gpu-node-pools:nodeAgent") or {}
    if "imageBuild" in agent:  # the program reads it relative to the repo: point it at the fixture's build
        raw["gpu-node-pools:nodeAgent"] = {**agent, "imageBuild": str(PROJECT_WITH_IMAGE / agent["imageBuild"])}
    return program_config(raw)


def stack_model(stack: str, *, filled: bool = True) -> Any:
    """The stack's validated PlatformConfig, from `stack_config`."""
    from gpu_node_pools.config.platform import parse_platform_config
    from gpu_node_pools.config.stack_files import namespace_values

    values = {k: json.loads(v) if v[:1] in "[{" else v for k, v in stack_config(stack, filled=filled).items()}
    return parse_platform_config(namespace_values(values), f"stacks/Pulumi.{stack}.yaml")


@functools.cache
def _path_with_aws_cli(aws_cli: bool) -> str:
    """A PATH on which the AWS CLI (which the program checks for on EKS stacks) is a stub, or is absent."""
    folder = Path(tempfile.mkdtemp(prefix="gnp-path-"))
    if aws_cli:
        stub = folder / "aws"
        stub.write_text("#!/bin/sh\nexit 1\n")
        stub.chmod(0o755)
    return str(folder)


def fake_aws_credentials(env: pytest.MonkeyPatch) -> None:
    """What the programs' fast credential check looks for; nothing ever calls AWS with them."""
    env.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    env.setenv("AWS_SECRET_ACCESS_KEY", "example")
    env.setenv("AWS_EC2_METADATA_DISABLED", "true")  # the credential check must never reach instance metadata


def run_program(
    stack: str, config: dict[str, str] | None = None, live_node_groups: LiveNodeGroups | None = None,
    *, aws_cli: bool = True,
) -> list[DeclaredResource]:
    """Declare `stack`'s resources through infra/__main__.py (config: `stack_config(stack)` unless given); returns
    them in declaration order.

    `live_node_groups` are the node groups the EKS lookups find; by default no cluster exists yet. `aws_cli`:
    whether the AWS CLI is on PATH (a stub: the program only looks for it)."""
    path = os.environ.get("PATH", "")
    os.environ["PATH"] = _path_with_aws_cli(aws_cli)
    try:
        return run_stack_program(ROOT, stack, stack_config(stack) if config is None else config,
                                 MockEngine(live_node_groups))
    finally:
        os.environ["PATH"] = path
