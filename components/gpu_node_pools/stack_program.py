"""The edges of a stack program: the running stack's config, and a fast check for AWS credentials."""

from __future__ import annotations

import os
from pathlib import Path

import botocore.exceptions
import botocore.session
import pulumi

from .aws.provider_settings import AwsProviderSettings
from .components._running_stack import running_aws_settings, running_config
from .config.platform import PlatformConfig, parse_platform_config
from .config.stack_files import namespace_values, resolve_image_build

__all__ = ["aws_credentials_problem", "load_running_stack"]

_NO_CREDENTIALS = (
    "no AWS credentials: this stack creates an EKS cluster and node groups, and nothing in the AWS credential "
    "chain resolved. Set aws:profile (or AWS_PROFILE), sign in (aws sso login), or give keys "
    "(AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or aws:accessKey/aws:secretKey as secrets), and aws:region, then "
    "run again. To deploy onto a local cluster instead, use the 'local' stack."
)


def load_running_stack(project_root: Path) -> PlatformConfig:
    """Validate the running stack's config; raises ConfigError naming `stacks/Pulumi.<stack>.yaml` and the key.

    Reads the whole config map, not key by key, so that an unknown (misspelt) key is caught too. A
    `nodeAgent.imageBuild` folder (relative to `project_root`) becomes the image built there.
    """
    source = f"stacks/Pulumi.{pulumi.get_stack()}.yaml"
    config = parse_platform_config(namespace_values(running_config()), source)
    return resolve_image_build(config, project_root, source)


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
