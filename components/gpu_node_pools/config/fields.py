"""Config field types the stack-file models share: names, quantities, resources, tolerations.

Each check raises a ValueError that says what is wrong; pydantic puts the stack-file key in front of it.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, model_validator

from ._model import ConfigModel
from .labels import label_key_problem, label_value_problem

__all__ = [
    "ContainerResources",
    "DnsLabel",
    "Quantity",
    "TolerationConfig",
    "parse_quantity",
]

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
# k8s.io/apimachinery/pkg/api/resource: a non-negative number, then a binary-SI, decimal-SI or exponent suffix.
_QUANTITY = re.compile(r"^(?P<number>\d+(\.\d*)?|\.\d+)(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E|[eE][+-]?\d+)?$")
_SUFFIX_FACTORS = {
    "": Decimal(1), "m": Decimal("0.001"),
    "k": Decimal(10) ** 3, "M": Decimal(10) ** 6, "G": Decimal(10) ** 9,
    "T": Decimal(10) ** 12, "P": Decimal(10) ** 15, "E": Decimal(10) ** 18,
    "Ki": Decimal(2) ** 10, "Mi": Decimal(2) ** 20, "Gi": Decimal(2) ** 30,
    "Ti": Decimal(2) ** 40, "Pi": Decimal(2) ** 50, "Ei": Decimal(2) ** 60,
}  # fmt: skip


def parse_quantity(quantity: str) -> Decimal:
    """The value of a Kubernetes quantity (`100m` -> 0.1, `1Gi` -> 1073741824)."""
    match = _QUANTITY.match(quantity)
    if not match:
        raise ValueError(
            f"{quantity!r} is not a Kubernetes quantity (a number with an optional suffix such as m, Mi, Gi, k, M, G)"
        )
    suffix = match["suffix"] or ""
    if suffix[:1] in ("e", "E"):
        return Decimal(match["number"]) * Decimal(10) ** int(suffix[1:])
    return Decimal(match["number"]) * _SUFFIX_FACTORS[suffix]


def _check_quantity(value: str) -> str:
    parse_quantity(value)
    return value


def _check_dns_label(value: str) -> str:
    if not _DNS_LABEL.match(value):
        raise ValueError(
            f"{value!r} is not a DNS-1123 label: 1-63 lowercase letters, digits or '-', alphanumeric at both ends"
        )
    return value


Quantity = Annotated[str, AfterValidator(_check_quantity)]
DnsLabel = Annotated[str, AfterValidator(_check_dns_label)]


class ContainerResources(ConfigModel):
    """Requests and limits of one container; every container we ship sets all four."""

    cpu: Quantity = Field(description="cpu request, e.g. 100m")
    memory: Quantity = Field(description="memory request, e.g. 128Mi")
    cpu_limit: Quantity = Field(description="cpu limit, at least the request")
    memory_limit: Quantity = Field(description="memory limit, at least the request")
    ephemeral_storage: Quantity | None = Field(
        default=None, description="ephemeral-storage request (logs, writable layer, emptyDirs); unset: none"
    )
    ephemeral_storage_limit: Quantity | None = Field(
        default=None, description="ephemeral-storage limit, at least the request; unset: none"
    )

    @model_validator(mode="after")
    def _requests_within_limits(self) -> ContainerResources:
        for request, limit, name in (
            (self.cpu, self.cpu_limit, "cpu"),
            (self.memory, self.memory_limit, "memory"),
            (self.ephemeral_storage, self.ephemeral_storage_limit, "ephemeral-storage"),
        ):
            if request is not None and limit is not None and parse_quantity(request) > parse_quantity(limit):
                raise ValueError(f"{name} request {request} is above its limit {limit}")
        return self

    def to_k8s(self) -> dict[str, Any]:
        """The container's `resources`: every container we ship sets all four (the guardrails demand them of
        users too); ephemeral storage where given."""
        requests = {"cpu": self.cpu, "memory": self.memory}
        limits = {"cpu": self.cpu_limit, "memory": self.memory_limit}
        if self.ephemeral_storage is not None:
            requests["ephemeral-storage"] = self.ephemeral_storage
        if self.ephemeral_storage_limit is not None:
            limits["ephemeral-storage"] = self.ephemeral_storage_limit
        return {"requests": requests, "limits": limits}


class TolerationConfig(ConfigModel):
    """An extra toleration, in Kubernetes spelling (`operator: Exists` takes no value)."""

    key: str = Field(description="taint key to tolerate")
    operator: Literal["Exists", "Equal"] = Field(default="Exists", description="Exists matches any value")
    value: str = Field(default="", description="taint value, with operator Equal only")
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = Field(
        default=None, description="effect to tolerate; unset tolerates every effect"
    )

    @model_validator(mode="after")
    def _consistent(self) -> TolerationConfig:
        problem = label_key_problem(self.key, allow_reserved=True) or label_value_problem(self.value)
        if problem:
            raise ValueError(problem.replace("label", "toleration"))
        if self.operator == "Exists" and self.value:
            raise ValueError("a toleration with operator Exists takes no value")
        return self

    def to_k8s(self) -> dict[str, str]:
        toleration = {"key": self.key, "operator": self.operator}
        if self.operator == "Equal":
            toleration["value"] = self.value
        if self.effect:
            toleration["effect"] = self.effect
        return toleration
