"""The edges of a stack program: the running stack's config, and a fast check for AWS credentials."""

from __future__ import annotations

import os
from pathlib import Path

import pulumi
from pulumi.runtime import config as runtime_config

from .config.platform import PlatformConfig, parse_platform_config
from .config.stack_files import namespace_values

__all__ = ["aws_credentials_problem", "load_running_stack"]


def load_running_stack() -> PlatformConfig:
    """Validate the running stack's config; raises ConfigError naming `stacks/Pulumi.<stack>.yaml` and the key.

    Reads the whole config map, not key by key, so that an unknown (misspelt) key is caught too.
    """
    everything = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    source = f"stacks/Pulumi.{pulumi.get_stack()}.yaml"
    return parse_platform_config(namespace_values(everything), source)


def aws_credentials_problem(environ: dict[str, str] | None = None, home: Path | None = None) -> str | None:
    """Why no AWS credentials can be found, or None. Checked before any AWS resource is declared, so a
    machine without credentials fails at once instead of waiting on the provider's credential chain."""
    env = os.environ if environ is None else environ
    home = home or Path.home()
    if env.get("AWS_ACCESS_KEY_ID") or env.get("AWS_PROFILE") or env.get("AWS_WEB_IDENTITY_TOKEN_FILE"):
        return None
    if env.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") or env.get("AWS_CONTAINER_CREDENTIALS_FULL_URI"):
        return None
    for path in (env.get("AWS_SHARED_CREDENTIALS_FILE"), env.get("AWS_CONFIG_FILE")):
        if path and Path(path).is_file():
            return None
    if (home / ".aws" / "credentials").is_file() or (home / ".aws" / "config").is_file():
        return None
    return (
        "no AWS credentials: this stack creates an EKS cluster and node groups. Set AWS_PROFILE or "
        "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (or ~/.aws/credentials), and aws:region, then run again. "
        "To deploy onto a local cluster instead, use the 'local' stack."
    )
