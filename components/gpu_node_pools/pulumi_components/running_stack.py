"""What the running Pulumi program was handed: its whole config map, and the aws provider's identity in it."""

from __future__ import annotations

from typing import Any

from pulumi.runtime import config as runtime_config

from ..aws.provider_settings import AwsProviderSettings, aws_provider_settings

__all__ = ["running_aws_settings", "running_config"]


def running_config() -> dict[str, Any]:
    """Namespaced keys (`aws:profile`, `gpu-node-pools:cluster`) to values, as Pulumi handed them over."""
    return {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}


def running_aws_settings() -> AwsProviderSettings:
    """The default aws provider's identity settings, from the running stack's `aws:` keys.

    Read from the map rather than through `pulumi.Config`, which warns on reading a secret (`aws:secretKey`).
    """
    values = {key.removeprefix("aws:"): value for key, value in running_config().items() if key.startswith("aws:")}
    return aws_provider_settings(values)
