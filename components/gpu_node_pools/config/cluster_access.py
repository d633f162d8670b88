"""Who may use a new EKS cluster: access entries, each an IAM principal with one AWS managed access policy."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from ._model import ConfigModel

__all__ = ["AccessEntryConfig", "AccessPolicyName", "duplicate_principals", "principal_arn_problem"]

AccessPolicyName = Literal["cluster-admin", "admin", "edit", "view"]
# An IAM role or user (EKS access entries take no other principal); the path is optional.
_PRINCIPAL_ARN = re.compile(r"^arn:aws(-[a-z]+)*:iam::\d{12}:(role|user)/[\w+=,.@/-]{1,512}$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


class AccessEntryConfig(ConfigModel):
    """One entry of `cluster.access`: an EKS access entry plus its access policy association."""

    principal_arn: str = Field(description="IAM role or user ARN, e.g. arn:aws:iam::111122223333:role/admins")
    policy: AccessPolicyName = Field(
        description="AWS managed access policy: cluster-admin, admin, edit or view (the Kubernetes roles' meaning)"
    )
    namespaces: list[str] | None = Field(
        default=None, min_length=1, description="limit the policy to these namespaces; unset: the whole cluster"
    )

    @field_validator("principal_arn")
    @classmethod
    def _principal(cls, arn: str) -> str:
        if problem := principal_arn_problem(arn):
            raise ValueError(problem)
        return arn

    @field_validator("namespaces")
    @classmethod
    def _namespace_names(cls, namespaces: list[str] | None) -> list[str] | None:
        bad = [n for n in namespaces or [] if not _DNS_LABEL.match(n)]
        if bad:
            raise ValueError(f"not namespace names (DNS-1123 labels): {', '.join(map(repr, bad))}")
        return namespaces

    @model_validator(mode="after")
    def _cluster_admin_is_cluster_wide(self) -> AccessEntryConfig:
        if self.policy == "cluster-admin" and self.namespaces:
            raise ValueError("cluster-admin is cluster-wide; for admin rights in some namespaces use policy: admin")
        return self

    @property
    def partition(self) -> str:
        """The AWS partition of the principal (aws, aws-cn, aws-us-gov); the access policy lives in the same one."""
        return self.principal_arn.split(":", 2)[1]


def principal_arn_problem(arn: str) -> str | None:
    """Why `arn` can't be an access entry's principal; None when it can."""
    if not _PRINCIPAL_ARN.match(arn):
        return f"{arn!r} is not an IAM role or user ARN (arn:aws:iam::<12-digit account>:role/<name>)"
    return None


def duplicate_principals(entries: list[AccessEntryConfig]) -> list[str]:
    """Principal ARNs listed more than once: EKS holds one access entry per principal."""
    arns = [e.principal_arn for e in entries]
    return sorted({a for a in arns if arns.count(a) > 1})
