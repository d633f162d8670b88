"""The stack program's edges: the running stack's config validated, and fast checks for AWS credentials, the AWS
CLI and example values left in the stack file.

Beside `__main__.py`, which imports it by name: the Python language host runs the program folder as a path, so
Python puts that folder first on `sys.path`.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import botocore.exceptions
import botocore.session
import pulumi

from gpu_node_pools.aws.kubeconfig import TOKEN_COMMAND
from gpu_node_pools.aws.provider_settings import AwsProviderSettings
from gpu_node_pools.config.placeholders import refuse_placeholders
from gpu_node_pools.config.platform import ConfigError, PlatformConfig, parse_platform_config
from gpu_node_pools.config.stack_files import namespace_values, resolve_image_build
from gpu_node_pools.pulumi_components.running_stack import running_aws_settings, running_config

__all__ = ["aws_cli_problem", "aws_credentials_problem", "example_values_problem", "load_running_stack"]

_NO_CREDENTIALS = (
    "no AWS credentials: this stack creates an EKS cluster and node groups, and nothing in the AWS credential "
    "chain resolved. Set aws:profile (or AWS_PROFILE), sign in (aws sso login), or give keys "
    "(AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or aws:accessKey/aws:secretKey as secrets), and aws:region, then "
    "run again. To deploy onto a local cluster instead, use the 'local' stack."
)

_NO_AWS_CLI = (
    f"the AWS CLI ({TOKEN_COMMAND!r}) is not on PATH: the cluster's kubeconfig runs `aws eks get-token` for every "
    "Kubernetes call, so `pulumi up` would create the cluster (about ten minutes) and then fail on its first "
    "Kubernetes object. Install AWS CLI v2 (docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html) "
    "on the machine running Pulumi, then run again."
)


def load_running_stack(project_root: Path) -> PlatformConfig:
    """Validate the running stack's config; raises ConfigError naming `stacks/Pulumi.<stack>.yaml` and the key.

    Reads the whole config map, not key by key, so that an unknown (misspelt) key is caught too. A
    `nodeAgent.imageBuild` folder (relative to `project_root`) becomes the image built there.
    """
    config = parse_platform_config(namespace_values(running_config()), _source())
    return resolve_image_build(config, project_root, _source())


def example_values_problem(config: PlatformConfig) -> str | None:
    """Every shipped example value (account, digest, subnet) an EKS stack still holds, as one message; or None.
    Checked before any resource: this is a deploy, where `render` and `plan` take them."""
    try:
        refuse_placeholders(config, pulumi.get_stack(), _source())
    except ConfigError as error:
        return str(error)
    return None


def _source() -> str:
    return f"stacks/Pulumi.{pulumi.get_stack()}.yaml"


def aws_credentials_problem(settings: AwsProviderSettings | None = None) -> str | None:
    """Why the aws provider will find no credentials, or None. Checked before any AWS resource is declared.

    Resolves through botocore's own credential chain (environment, the profile's keys, SSO, credential_process,
    assume-role profiles, web identity, container and instance metadata), with the stack's `aws:profile`. Keys in
    the stack config count as credentials. Nothing is fetched that the chain would defer (SSO, assumed roles).
    """
    try:
        settings = running_aws_settings() if settings is None else settings
    except ValueError as error:
        return str(error)
    if settings.static_keys:
        return None
    try:
        credentials = botocore.session.Session(profile=settings.profile).get_credentials()
    except botocore.exceptions.ProfileNotFound:
        profile = settings.profile or os.environ.get("AWS_PROFILE")
        source = "aws:profile" if settings.profile else "AWS_PROFILE"
        return f"AWS profile {profile!r} (from {source}) is not in the AWS config or credentials file"
    except botocore.exceptions.BotoCoreError as error:
        return f"AWS credentials could not be loaded: {error}"
    return None if credentials is not None else _NO_CREDENTIALS


def aws_cli_problem(which: Callable[[str], str | None] = shutil.which) -> str | None:
    """Why the cluster's kubeconfig can't get a token here (no AWS CLI on PATH), or None. Checked before any
    resource on an EKS stack."""
    return None if which(TOKEN_COMMAND) else _NO_AWS_CLI
