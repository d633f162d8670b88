"""The stack file's `tenants` key: tenant namespaces, their default requests and limits, quotas and Pod Security."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from ._model import ConfigModel
from .fields import DnsLabel, Quantity, parse_quantity

__all__ = [
    "CpuMemory",
    "CpuMemoryMax",
    "DEFAULT_CONTAINER_LIMITS",
    "DEFAULT_CONTAINER_REQUESTS",
    "GPU_QUOTA_KEY",
    "LimitRangeConfig",
    "QuotaConfig",
    "TenantNamespaceConfig",
]

GPU_QUOTA_KEY = "requests.nvidia.com/gpu"
_PSA_VERSION = re.compile(r"^(latest|v1\.\d+)$")
_RESERVED_NAMESPACES = ("default",)
_RESERVED_PREFIX = "kube-"


class CpuMemory(ConfigModel):
    cpu: Quantity = Field(description="e.g. 100m or 2")
    memory: Quantity = Field(description="e.g. 128Mi or 4Gi")


class CpuMemoryMax(ConfigModel):
    cpu: Quantity | None = Field(default=None, description="unset: no maximum")
    memory: Quantity | None = Field(default=None, description="unset: no maximum")


DEFAULT_CONTAINER_REQUESTS = CpuMemory(cpu="100m", memory="128Mi")
DEFAULT_CONTAINER_LIMITS = CpuMemory(cpu="1", memory="512Mi")


class LimitRangeConfig(ConfigModel):
    """Per-container defaults (the LimitRange's `defaultRequest` and `default`) and optional maxima."""

    default_request: CpuMemory = Field(
        default=DEFAULT_CONTAINER_REQUESTS, description="requests of containers that set none; default 100m/128Mi"
    )
    default: CpuMemory = Field(
        default=DEFAULT_CONTAINER_LIMITS, description="limits of containers that set none; default 1/512Mi"
    )
    max: CpuMemoryMax | None = Field(default=None, description="largest limits a container may set")

    @model_validator(mode="after")
    def _ordered(self) -> LimitRangeConfig:
        # The API server's own rule: defaultRequest <= default <= max.
        for resource in ("cpu", "memory"):
            chain = [
                ("defaultRequest", getattr(self.default_request, resource)),
                ("default", getattr(self.default, resource)),
                ("max", getattr(self.max, resource) if self.max else None),
            ]
            bounded = [(name, value) for name, value in chain if value is not None]
            for (low_name, low), (high_name, high) in zip(bounded, bounded[1:]):
                if parse_quantity(low) > parse_quantity(high):
                    raise ValueError(f"{low_name}.{resource} {low} is above {high_name}.{resource} {high}")
        return self


class QuotaConfig(ConfigModel):
    """Namespace totals; unset keys are not capped."""

    requests_cpu: Quantity | None = Field(default=None, description="caps requests.cpu")
    requests_memory: Quantity | None = Field(default=None, description="caps requests.memory")
    limits_cpu: Quantity | None = Field(default=None, description="caps limits.cpu")
    limits_memory: Quantity | None = Field(default=None, description="caps limits.memory")
    pods: int | None = Field(default=None, ge=0, description="caps the number of pods")
    gpus: int | None = Field(default=None, ge=0, description=f"caps {GPU_QUOTA_KEY}")

    @model_validator(mode="after")
    def _not_empty(self) -> QuotaConfig:
        if not self.hard():
            raise ValueError("set at least one of requestsCpu, requestsMemory, limitsCpu, limitsMemory, pods, gpus")
        return self

    def hard(self) -> dict[str, str]:
        caps = {
            "requests.cpu": self.requests_cpu,
            "requests.memory": self.requests_memory,
            "limits.cpu": self.limits_cpu,
            "limits.memory": self.limits_memory,
            "pods": self.pods,
            GPU_QUOTA_KEY: self.gpus,
        }
        return {key: str(value) for key, value in caps.items() if value is not None}


class TenantNamespaceConfig(ConfigModel):
    """One entry of the stack file's `tenants` list."""

    name: DnsLabel = Field(description="namespace name (DNS-1123 label; not default or kube-*)")
    pod_security: Literal["restricted", "baseline", "privileged"] = Field(
        default="restricted", description="Pod Security level, enforced, audited and warned"
    )
    pod_security_version: str = Field(default="latest", description="`latest` or a Kubernetes minor like v1.32")
    limit_range: LimitRangeConfig = Field(
        default_factory=LimitRangeConfig, description="per-container default requests and limits"
    )
    quota: QuotaConfig | None = Field(
        default=None, description="namespace totals; unset: uncapped (GPUs still 0 without gpuAccess)"
    )
    gpu_access: bool = Field(default=False, description="may pods here request nvidia.com/gpu; false: GPU quota 0")
    default_deny_network_policy: bool = Field(
        default=True,
        description="deny all ingress and egress but DNS to kube-dns; add allow policies per workload, or opt out",
    )

    @field_validator("name")
    @classmethod
    def _not_reserved(cls, name: str) -> str:
        if name in _RESERVED_NAMESPACES or name.startswith(_RESERVED_PREFIX):
            raise ValueError(f"{name!r} is reserved for Kubernetes; pick a namespace of your own")
        return name

    @field_validator("pod_security_version")
    @classmethod
    def _psa_version(cls, version: str) -> str:
        if not _PSA_VERSION.match(version):
            raise ValueError(f"{version!r} is not a Pod Security version: use 'latest' or a minor like 'v1.32'")
        return version

    @model_validator(mode="after")
    def _gpu_quota_needs_access(self) -> TenantNamespaceConfig:
        if not self.gpu_access and self.quota and self.quota.gpus:
            raise ValueError("quota.gpus is set but gpuAccess is false: set gpuAccess: true to grant GPUs")
        return self
