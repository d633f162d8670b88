"""Where the platform runs: a new EKS cluster, or an existing cluster reached through a kubeconfig."""

from __future__ import annotations

import re
from typing import Annotated, Literal, Union

from pydantic import Field, field_validator, model_validator

from ._model import ConfigModel, key_errors
from .auto_mode import AutoModeConfig
from .cluster_access import AccessEntryConfig, duplicate_principals, principal_arn_problem
from .cluster_endpoint import cidr_problem, endpoint_problems, security_group_id_problem
from .cluster_addons import ManagedAddonsConfig

__all__ = [
    "ClusterConfig",
    "DEFAULT_KUBERNETES_VERSION",
    "DEFAULT_LOG_RETENTION_DAYS",
    "EksAutoClusterConfig",
    "EksClusterConfig",
    "EncryptionConfig",
    "ExistingClusterConfig",
    "LOG_RETENTION_DAYS",
]

# The EKS version new clusters get; pod-bound token node names (the node agent's admission policy) need 1.32+.
DEFAULT_KUBERNETES_VERSION = "1.34"
MINIMUM_KUBERNETES_VERSION = (1, 32)
_VERSION = re.compile(r"^1\.(\d+)$")
LogType = Literal["api", "audit", "authenticator", "controllerManager", "scheduler"]
DEFAULT_LOG_TYPES: tuple[LogType, ...] = ("api", "audit", "authenticator")
# The retention periods CloudWatch Logs accepts (PutRetentionPolicy); 90 days is terraform-aws-eks' default.
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
)
DEFAULT_LOG_RETENTION_DAYS = 90
_KMS_KEY_ARN = re.compile(r"^arn:aws(-[a-z]+)*:kms:[a-z0-9-]+:\d{12}:key/[A-Za-z0-9-]+$")


class EncryptionConfig(ConfigModel):
    """KMS envelope encryption of Kubernetes Secrets; always on."""

    kms_key_arn: str | None = Field(
        default=None, description="an existing KMS key ARN (key/..., not an alias); unset: a key is created"
    )

    @field_validator("kms_key_arn")
    @classmethod
    def _key_arn(cls, arn: str | None) -> str | None:
        # The cluster role's IAM policy names this ARN, and IAM matches key ARNs, never alias ARNs.
        if arn is not None and not _KMS_KEY_ARN.match(arn):
            raise ValueError(f"{arn!r} is not a KMS key ARN (arn:aws:kms:<region>:<account>:key/<key id>)")
        return arn


class EksClusterConfig(ConfigModel):
    """A new EKS cluster with its IAM role, in the given subnets; node pools become managed node groups."""

    mode: Literal["eks"] = Field(description="create a new EKS cluster (needs AWS credentials and aws:region)")
    name: str = Field(
        min_length=1, max_length=100, pattern=r"^[0-9A-Za-z][A-Za-z0-9\-_]*$", description="EKS cluster name"
    )
    version: str = Field(default=DEFAULT_KUBERNETES_VERSION, description="Kubernetes minor version, 1.32 or newer")
    subnet_ids: list[str] = Field(min_length=2, description="subnets (two or more AZs) for the cluster and pools")
    endpoint_public_access: bool = Field(default=True, description="API endpoint reachable from the internet")
    endpoint_private_access: bool = Field(default=True, description="API endpoint reachable from inside the VPC")
    public_access_cidrs: list[str] | None = Field(
        default=None,
        description="CIDRs allowed to the public endpoint; required while it is on (0.0.0.0/0 only when written)",
    )
    private_access_cidrs: list[str] = Field(
        default_factory=list, description="CIDRs admitted to the private endpoint on 443 (a VPN, a CI runner subnet)"
    )
    private_access_security_group_ids: list[str] = Field(
        default_factory=list, description="security groups admitted to the private endpoint on 443 (a bastion's)"
    )
    enabled_log_types: list[LogType] = Field(
        default_factory=lambda: list(DEFAULT_LOG_TYPES), description="control-plane logs to CloudWatch"
    )
    log_retention_days: int = Field(
        default=DEFAULT_LOG_RETENTION_DAYS, description="days CloudWatch keeps control-plane logs (a value it accepts)"
    )
    access: list[AccessEntryConfig] = Field(
        default_factory=list,
        description="IAM principals given Kubernetes access (EKS access entries); the deployer's own is creatorAdmin",
    )
    creator_admin: bool = Field(
        default=True,
        description="declare a cluster-admin access entry for the identity running `pulumi up` (false: none)",
    )
    creator_principal_arn: str | None = Field(
        default=None,
        description="that identity's role or user ARN; unset: from the caller identity (a role path is lost there)",
    )
    addons: ManagedAddonsConfig = Field(
        default_factory=ManagedAddonsConfig, description="EKS managed add-ons, optionally with pinned versions"
    )
    encryption: EncryptionConfig = Field(
        default_factory=EncryptionConfig, description="KMS envelope encryption of Secrets"
    )
    deletion_protection: bool = Field(default=False, description="EKS refuses to delete the cluster while true")
    upgrade_policy: Literal["STANDARD", "EXTENDED"] = Field(
        default="STANDARD", description="EKS support after standard support ends; EXTENDED costs more per hour"
    )

    @field_validator("version")
    @classmethod
    def _version(cls, version: str) -> str:
        match = _VERSION.match(version)
        if not match:
            raise ValueError(f"Kubernetes version {version!r} must look like '1.34'")
        if (1, int(match.group(1))) < MINIMUM_KUBERNETES_VERSION:
            raise ValueError(
                f"Kubernetes {version} is too old: the node agent's admission policy needs 1.32 or newer"
            )
        return version

    @field_validator("log_retention_days")
    @classmethod
    def _retention(cls, days: int) -> int:
        if days not in LOG_RETENTION_DAYS:
            raise ValueError(f"{days} days is not a CloudWatch retention; pick one of {list(LOG_RETENTION_DAYS)}")
        return days

    @field_validator("public_access_cidrs", "private_access_cidrs")
    @classmethod
    def _cidrs(cls, cidrs: list[str] | None) -> list[str] | None:
        if problems := [p for c in cidrs or [] if (p := cidr_problem(c))]:
            raise ValueError("; ".join(problems))
        return cidrs

    @field_validator("private_access_security_group_ids")
    @classmethod
    def _security_groups(cls, group_ids: list[str]) -> list[str]:
        if problems := [p for g in group_ids if (p := security_group_id_problem(g))]:
            raise ValueError("; ".join(problems))
        return group_ids

    @field_validator("creator_principal_arn")
    @classmethod
    def _creator(cls, arn: str | None) -> str | None:
        if arn is not None and (problem := principal_arn_problem(arn)):
            raise ValueError(problem)
        return arn

    @model_validator(mode="after")
    def _reachable_endpoint_and_one_creator_entry(self) -> EksClusterConfig:
        problems = endpoint_problems(self)
        if self.creator_admin and self.creator_principal_arn in {e.principal_arn for e in self.access}:
            problems.append((("creatorPrincipalArn",), f"{self.creator_principal_arn} is also in cluster.access: EKS "
                             "keeps one entry per principal; drop it there or set creatorAdmin: false"))
        if problems:
            raise key_errors(type(self).__name__, problems)
        return self

    @field_validator("access")
    @classmethod
    def _one_entry_per_principal(cls, entries: list[AccessEntryConfig]) -> list[AccessEntryConfig]:
        if duplicates := duplicate_principals(entries):
            raise ValueError(f"principals listed more than once (EKS keeps one entry each): {', '.join(duplicates)}")
        return entries


class EksAutoClusterConfig(EksClusterConfig):
    """A new EKS cluster in Auto Mode: AWS runs its compute (Karpenter, GPU drivers and device plugin), networking,
    DNS and block storage; our pools become Auto Mode NodePools (docs/eks.md, Cluster modes)."""

    mode: Literal["eks-auto"] = Field(  # type: ignore[assignment]  # the discriminator: one literal per mode
        description="create a new EKS cluster in Auto Mode (needs AWS credentials and aws:region)"
    )
    auto_mode: AutoModeConfig = Field(
        default_factory=AutoModeConfig, description="Auto Mode's built-in NodePools and our pools' NodeClass"
    )


class ExistingClusterConfig(ConfigModel):
    """A cluster that already exists; only the in-cluster layer is deployed and no AWS resource is created.

    Node pools given alongside describe the cluster's pools (on the local stack: the simulated nodes).
    """

    mode: Literal["existing"] = Field(description="deploy the in-cluster layer into a cluster that exists")
    kubeconfig: str = Field(min_length=1, description="kubeconfig path, relative to the project folder or absolute")
    context: str | None = Field(default=None, description="kubeconfig context (default: its current context)")


ClusterConfig = Annotated[
    Union[EksClusterConfig, EksAutoClusterConfig, ExistingClusterConfig], Field(discriminator="mode")
]
