"""Validate Kubernetes objects against the official OpenAPI schema (the `kubernetes-validate` package).

Strict schemas: an unknown or misspelt field is an error, as it would be for `kubectl apply --validate=strict`.
Checked for the oldest Kubernetes version we support and the newest one the package knows. Objects of Karpenter's
API groups are checked against the CRDs of the pinned Karpenter (tools/karpenter/crds), and PrometheusRule and
PodMonitor against prometheus-operator's (tests/data/crds, `make operator-crds`), just as strictly; EKS Auto Mode's
NodeClass against a schema written from its API reference.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import kubernetes_validate.utils
import yaml
from kubernetes_validate.utils import latest_version, major_minor

__all__ = ["CRD_DIR", "OLDEST_SUPPORTED_VERSION", "OPERATOR_CRD_DIR", "ROOT", "SCHEMA_VERSIONS", "crd_problems",
           "crd_schema_problems", "operator_crds", "schema_problems", "validate_objects"]

ROOT = Path(__file__).resolve().parents[1]
# The CRDs the local Karpenter (kwok provider) installs; the EKS release's CRDs ship in the package
# (gpu_node_pools.manifests.karpenter_crds).
CRD_DIR = ROOT / "tools" / "karpenter" / "crds"
# prometheus-operator's CRDs for the kinds we build, at the pinned version (scripts/vendor-operator-crds.sh).
(OPERATOR_CRD_DIR,) = (ROOT / "tests" / "data" / "crds").glob("prometheus-operator-*")
# EKS Auto Mode's NodeClass, written from AWS's API reference (no CRD is published; the file names its source).
AUTO_MODE_NODE_CLASS_SCHEMA = ROOT / "tests" / "data" / "eks-auto-mode-nodeclass.schema.json"

# kubernetes-validate parses its schema files (the definitions alone are 1.3 MB of JSON) on every validate() call;
# the tests validate hundreds of objects, so each file is parsed once. The parsed schemas are only ever read.
kubernetes_validate.utils.schema_contents = functools.cache(kubernetes_validate.utils.schema_contents)

OLDEST_SUPPORTED_VERSION = "1.32"
SCHEMA_VERSIONS: tuple[str, ...] = (OLDEST_SUPPORTED_VERSION, major_minor(latest_version()))


def schema_problems(objects: Iterable[dict[str, Any]], versions: Sequence[str] = SCHEMA_VERSIONS) -> list[str]:
    """One line per object and version that fails its schema (or has none); empty when all are valid."""
    problems = []
    for obj in objects:
        name = f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
        if (obj.get("apiVersion"), obj.get("kind")) in _crd_schemas():
            problems += [f"{name} @ CRD: {p}" for p in crd_problems(obj)]
            continue
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
        # Go's RE2 takes a flag group anywhere; Python's re only at the start (same meaning here: `^(?i)x`).
        if isinstance(out.get("pattern"), str) and "(?i)" in out["pattern"]:
            out["pattern"] = "(?i)" + out["pattern"].replace("(?i)", "")
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


def operator_crds() -> list[dict[str, Any]]:
    return [yaml.safe_load(path.read_text()) for path in sorted(OPERATOR_CRD_DIR.glob("*.yaml"))]


@functools.cache
def _crd_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) -> the strict JSON schema of that served version, from the EKS release's CRDs, then
    the local Karpenter's (same core release: NodePool and NodeClaim agree), then prometheus-operator's; and EKS Auto
    Mode's NodeClass, for which AWS publishes an API reference but no CRD (tests/data, its source named inside)."""
    from gpu_node_pools.manifests.karpenter_crds import karpenter_crds

    crds = [*karpenter_crds(), *(yaml.safe_load(path.read_text()) for path in sorted(CRD_DIR.glob("*.yaml"))),
            *operator_crds()]
    schemas = {}
    for crd in crds:
        for version in crd["spec"]["versions"]:
            key = (f"{crd['spec']['group']}/{version['name']}", crd["spec"]["names"]["kind"])
            schemas[key] = _strict(version["schema"]["openAPIV3Schema"])
    schemas[("eks.amazonaws.com/v1", "NodeClass")] = json.loads(AUTO_MODE_NODE_CLASS_SCHEMA.read_text())
    return schemas


def crd_problems(obj: dict[str, Any]) -> list[str]:
    """Every way `obj` fails its CRD's schema (unknown fields, types, enums, patterns, bounds); CEL rules excepted."""
    schema = _crd_schemas()[(obj["apiVersion"], obj["kind"])]
    validator = jsonschema.Draft7Validator(schema)
    return [f"{'.'.join(str(p) for p in e.path)}: {e.message}" for e in validator.iter_errors(obj)]
