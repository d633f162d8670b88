"""The base of every config model: frozen, strict about unknown keys, camelCase in stack files.

Stack files use camelCase keys (`instanceTypes`, `maxUnavailablePercentage`); Python code uses snake_case.
Unknown keys are errors, so a typo in a stack file fails before anything is created.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

__all__ = ["ConfigModel"]


class ConfigModel(BaseModel):
    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        arbitrary_types_allowed=True,
    )
