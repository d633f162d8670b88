"""Validate Kubernetes objects against the official OpenAPI schema (the `kubernetes-validate` package).

Strict schemas: an unknown or misspelt field is an error, as it would be for `kubectl apply --validate=strict`.
Checked for the oldest Kubernetes version we support and the newest one the package knows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import kubernetes_validate
from kubernetes_validate.utils import latest_version, major_minor

__all__ = ["OLDEST_SUPPORTED_VERSION", "SCHEMA_VERSIONS", "crd_schema_problems", "schema_problems", "validate_objects"]

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


def _strict(schema: Any) -> Any:
    """A CRD's structural schema made strict like `--validate=strict`: unknown fields are errors wherever the
    schema lists properties and doesn't say to keep unknown ones."""
    if isinstance(schema, dict):
        out = {k: _strict(v) for k, v in schema.items()}
        if "properties" in schema and "additionalProperties" not in schema \
                and not schema.get("x-kubernetes-preserve-unknown-fields"):
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [_strict(v) for v in schema]
    return schema


def crd_schema_problems(obj: dict[str, Any], crds: Iterable[dict[str, Any]]) -> list[str]:
    """`obj` checked against the openAPIV3Schema of its CRD among `crds` (the served version of its kind).

    jsonschema checks types, enums, patterns, bounds, required fields and unknown fields; the CEL rules
    (x-kubernetes-validations) are the API server's to check.
    """
    import jsonschema

    group, _, version = obj["apiVersion"].rpartition("/")
    for crd in crds:
        spec = crd["spec"]
        if spec["group"] != group or spec["names"]["kind"] != obj["kind"]:
            continue
        for served in spec["versions"]:
            if served["name"] == version:
                schema = _strict(served["schema"]["openAPIV3Schema"])
                schema["properties"]["metadata"] = {"type": "object"}  # ObjectMeta: checked by the API server
                validator = jsonschema.Draft7Validator(schema)
                return [f"{obj['kind']}/{obj['metadata'].get('name')}: {'.'.join(map(str, e.path))}: {e.message}"
                        for e in validator.iter_errors(obj)]
    return [f"no CRD serves {obj['apiVersion']} {obj['kind']}"]
