"""Validate a request against botocore's EKS service model: required members, types, enums and ranges.

botocore's own ParamValidator checks required members and types; enums and max lengths/values are only in
the model's metadata, so they are walked here.
"""

from __future__ import annotations

from typing import Any

import botocore.session
from botocore.model import Shape
from botocore.validate import ParamValidator

_SESSION = botocore.session.get_session()


def eks_input_shape(operation: str) -> Shape:
    return _SESSION.get_service_model("eks").operation_model(operation).input_shape


def eks_problems(operation: str, params: dict[str, Any]) -> list[str]:
    shape = eks_input_shape(operation)
    report = ParamValidator().validate(params, shape)
    problems = [report.generate_report()] if report.has_errors() else []
    _walk(shape, params, operation, problems)
    return problems


def _walk(shape: Shape, value: Any, path: str, problems: list[str]) -> None:
    meta = shape.metadata
    if shape.type_name == "structure" and isinstance(value, dict):
        for name, member in shape.members.items():
            if name in value:
                _walk(member, value[name], f"{path}.{name}", problems)
    elif shape.type_name == "list" and isinstance(value, list):
        if "max" in meta and len(value) > meta["max"]:
            problems.append(f"{path}: {len(value)} items, more than {meta['max']}")
        for i, item in enumerate(value):
            _walk(shape.member, item, f"{path}[{i}]", problems)
    elif shape.type_name == "map" and isinstance(value, dict):
        for key, item in value.items():
            _walk(shape.key, key, f"{path}<key {key}>", problems)
            _walk(shape.value, item, f"{path}[{key}]", problems)
    elif shape.type_name == "string" and isinstance(value, str):
        if shape.enum and value not in shape.enum:
            problems.append(f"{path}: {value!r} not in {shape.enum}")
        if "min" in meta and len(value) < meta["min"]:
            problems.append(f"{path}: shorter than {meta['min']}")
        if "max" in meta and len(value) > meta["max"]:
            problems.append(f"{path}: longer than {meta['max']}")
    elif shape.type_name in ("integer", "long") and isinstance(value, int):
        if "min" in meta and value < meta["min"]:
            problems.append(f"{path}: {value} below minimum {meta['min']}")
        if "max" in meta and value > meta["max"]:
            problems.append(f"{path}: {value} above maximum {meta['max']}")
