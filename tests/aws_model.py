"""Validate a request against any botocore service model (IAM, SQS, EventBridge, ...), as `eks_model` does for EKS."""

from __future__ import annotations

from typing import Any

import botocore.session
from botocore.validate import ParamValidator
from eks_model import _walk as walk_constraints

_SESSION = botocore.session.get_session()


def aws_problems(service: str, operation: str, params: dict[str, Any]) -> list[str]:
    """Every way `params` breaks botocore's model of `service`'s `operation`: required members, types, enums,
    lengths and ranges. Empty when valid."""
    shape = _SESSION.get_service_model(service).operation_model(operation).input_shape
    report = ParamValidator().validate(params, shape)
    problems = [report.generate_report()] if report.has_errors() else []
    walk_constraints(shape, params, operation, problems)
    return problems


def max_length(service: str, operation: str, member: str) -> int | None:
    """The most characters botocore's model of `service` allows in `operation`'s `member`; None when it says none."""
    shape = _SESSION.get_service_model(service).operation_model(operation).input_shape.members[member]
    return shape.metadata.get("max")
