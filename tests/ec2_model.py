"""Validate a request against botocore's EC2 service model, the way `eks_model` does for EKS."""

from __future__ import annotations

from typing import Any

import botocore.session
from botocore.model import Shape
from botocore.validate import ParamValidator
from eks_model import _walk as walk_constraints

_SESSION = botocore.session.get_session()


def ec2_input_shape(operation: str) -> Shape:
    return _SESSION.get_service_model("ec2").operation_model(operation).input_shape


def ec2_problems(operation: str, params: dict[str, Any]) -> list[str]:
    shape = ec2_input_shape(operation)
    report = ParamValidator().validate(params, shape)
    problems = [report.generate_report()] if report.has_errors() else []
    walk_constraints(shape, params, operation, problems)
    return problems
