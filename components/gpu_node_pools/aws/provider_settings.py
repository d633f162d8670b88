"""Who the stack's aws provider acts as: the identity settings among the stack's `aws:` config keys.

pulumi-aws 7 reads `aws:profile`, `aws:accessKey`/`aws:secretKey` and `aws:assumeRoles` (a list of
`{roleArn, ...}`, assumed in order). The credential check and the cluster's kubeconfig must act as the same
identity as the provider, or the kubeconfig reaches a cluster whose admin is someone else.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["AwsProviderSettings", "aws_provider_settings"]


@dataclass(frozen=True)
class AwsProviderSettings:
    profile: str | None = None
    static_keys: bool = False
    role_arn: str | None = None
    """The role the provider ends up acting as: the last of `aws:assumeRoles`."""


def aws_provider_settings(values: Mapping[str, Any]) -> AwsProviderSettings:
    """Settings from the stack's `aws:` keys, un-namespaced (`{"profile": ..., "assumeRoles": ...}`).

    Raises ValueError naming the key when `aws:assumeRoles` is not a list of objects with a roleArn.
    """
    return AwsProviderSettings(
        profile=values.get("profile") or None,
        static_keys=bool(values.get("accessKey") and values.get("secretKey")),
        role_arn=_last_role_arn(values.get("assumeRoles")),
    )


def _last_role_arn(value: Any) -> str | None:
    if value in (None, "", "[]"):
        return None
    roles = value
    if isinstance(value, str):
        try:
            roles = json.loads(value)
        except json.JSONDecodeError:
            roles = None
    if isinstance(roles, dict):
        roles = [roles]
    if not isinstance(roles, list) or not all(isinstance(r, dict) and r.get("roleArn") for r in roles):
        raise ValueError(f"aws:assumeRoles must be a list of objects with a roleArn, got {value!r}")
    return str(roles[-1]["roleArn"]) if roles else None
