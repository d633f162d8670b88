"""Validate Kubernetes objects against the official OpenAPI schema (the `kubernetes-validate` package).

Strict schemas: an unknown or misspelt field is an error, as it would be for `kubectl apply --validate=strict`.
Checked for the oldest Kubernetes version we support and the newest one the package knows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import kubernetes_validate
from kubernetes_validate.utils import latest_version, major_minor

__all__ = ["OLDEST_SUPPORTED_VERSION", "SCHEMA_VERSIONS", "schema_problems", "validate_objects"]

OLDEST_SUPPORTED_VERSION = "1.32"
SCHEMA_VERSIONS: tuple[str, ...] = (OLDEST_SUPPORTED_VERSION, major_minor(latest_version()))


def schema_problems(objects: Iterable[dict[str, Any]], versions: Sequence[str] = SCHEMA_VERSIONS) -> list[str]:
    """One line per object and version that fails its schema (or has none); empty when all are valid."""
    problems = []
    for obj in objects:
        name = f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
        for version in versions:
            try:
                kubernetes_validate.validate(obj, version, strict=True)
            except kubernetes_validate.ValidationError as error:
                path = ".".join(str(p) for p in error.path)
                problems.append(f"{name} @ {version}: {path}: {error.message}")
            except kubernetes_validate.SchemaNotFoundError:
                problems.append(f"{name} @ {version}: no schema for {obj.get('apiVersion')} {obj.get('kind')}")
    return problems


def validate_objects(objects: Iterable[dict[str, Any]], versions: Sequence[str] = SCHEMA_VERSIONS) -> None:
    """Raise AssertionError listing every schema problem of `objects` for each of `versions`."""
    problems = schema_problems(objects, versions)
    assert not problems, "objects fail the Kubernetes schema:\n" + "\n".join(problems)
