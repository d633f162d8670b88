"""The stack config reference, generated from the config models into docs/config-reference.md (`make generate`)."""

from __future__ import annotations

import types
import typing
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from ._model import models_in
from .platform import CONFIG_NAMESPACE, PlatformConfig

__all__ = ["config_reference_markdown", "config_reference_rows"]


def _type_name(annotation: Any) -> str:
    origin = get_origin(annotation)
    if origin is typing.Annotated:
        return _type_name(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return " | ".join(_type_name(a) for a in get_args(annotation))
    if origin is typing.Literal:
        return " | ".join(repr(a) for a in get_args(annotation))
    if origin in (list, dict):
        return f"{origin.__name__}[{', '.join(_type_name(a) for a in get_args(annotation))}]"
    if annotation is type(None):
        return "null"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "object"
    return getattr(annotation, "__name__", str(annotation))


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "required"
    value = field.default_factory() if field.default_factory else field.default  # type: ignore[call-arg]
    if value is PydanticUndefined:
        return ""
    if isinstance(value, BaseModel) or (isinstance(value, list) and any(isinstance(v, BaseModel) for v in value)):
        return "see below"
    return f"`{value!r}`"


def config_reference_rows(model: type[BaseModel] = PlatformConfig, prefix: str = "") -> list[tuple[str, str, str, str]]:
    """(key, type, default, description) for every config key, depth first, in declaration order."""
    rows: list[tuple[str, str, str, str]] = []
    for name, field in model.model_fields.items():
        key = f"{prefix}{field.alias or name}"
        rows.append((key, _type_name(field.annotation), _default(field), (field.description or "").strip()))
        for sub in dict.fromkeys(models_in(field.annotation)):
            list_like = get_origin(field.annotation) is list
            rows.extend(config_reference_rows(sub, f"{key}{'[]' if list_like else ''}."))
    return rows


def config_reference_markdown() -> str:
    lines = [
        f"| key (under `{CONFIG_NAMESPACE}:`) | type | default | description |",
        "| --- | --- | --- | --- |",
    ]
    for key, type_name, default, description in config_reference_rows():
        cells = (f"`{key}`", type_name.replace("|", "\\|"), default.replace("|", "\\|"), description.replace("|", "\\|"))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
