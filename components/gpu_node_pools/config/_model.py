"""The base of every config model: frozen, strict about unknown keys, camelCase in stack files.

Stack files use camelCase keys (`instanceTypes`, `maxUnavailablePercentage`); Python code uses snake_case.
Unknown keys are errors, so a typo in a stack file fails before anything is created.
"""

from __future__ import annotations

from typing import Any, get_args

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.alias_generators import to_camel
from pydantic_core import InitErrorDetails, PydanticCustomError

__all__ = ["ConfigModel", "key_errors", "models_in"]


class ConfigModel(BaseModel):
    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        arbitrary_types_allowed=True,
    )


def models_in(annotation: Any) -> list[type[BaseModel]]:
    """Config models reachable from a field's type (through lists, dicts, unions, Annotated)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in get_args(annotation) for m in models_in(arg)]


def key_errors(model_name: str, problems: list[tuple[tuple[str, ...], str]]) -> ValidationError:
    """Cross-field problems of a model, each reported at its key path (a plain ValueError in a model validator
    would name only the model's own key), all at once."""
    details = [
        InitErrorDetails(type=PydanticCustomError("value_error", "{message}", {"message": message}), loc=path,
                         input=None)
        for path, message in problems
    ]
    return ValidationError.from_exception_data(model_name, details)
