"""Where the platform runs: a new EKS cluster, or an existing cluster reached through a kubeconfig."""

from __future__ import annotations

import re
from typing import Annotated, Literal, Union

from pydantic import Field, field_validator

from ._model import ConfigModel

__all__ = ["ClusterConfig", "DEFAULT_KUBERNETES_VERSION", "EksClusterConfig", "ExistingClusterConfig"]

# The EKS version new clusters get; pod-bound token node names (the node agent's admission policy) need 1.32+.
DEFAULT_KUBERNETES_VERSION = "1.34"
MINIMUM_KUBERNETES_VERSION = (1, 32)
_VERSION = re.compile(r"^1\.(\d+)$")
LogType = Literal["api", "audit", "authenticator", "controllerManager", "scheduler"]
DEFAULT_LOG_TYPES: tuple[LogType, ...] = ("api", "audit", "authenticator")


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
    public_access_cidrs: list[str] | None = Field(default=None, description="CIDRs allowed to the public endpoint")
    enabled_log_types: list[LogType] = Field(
        default_factory=lambda: list(DEFAULT_LOG_TYPES), description="control-plane logs to CloudWatch"
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


class ExistingClusterConfig(ConfigModel):
    """A cluster that already exists; only the in-cluster layer is deployed and no AWS resource is created.

    Node pools given alongside describe the cluster's pools (on the local stack: the simulated nodes).
    """

    mode: Literal["existing"] = Field(description="deploy the in-cluster layer into a cluster that exists")
    kubeconfig: str = Field(min_length=1, description="kubeconfig path, relative to the project folder or absolute")
    context: str | None = Field(default=None, description="kubeconfig context (default: its current context)")


ClusterConfig = Annotated[Union[EksClusterConfig, ExistingClusterConfig], Field(discriminator="mode")]
