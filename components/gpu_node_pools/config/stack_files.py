"""Where a stack's config comes from: `stacks/Pulumi.<stack>.yaml`, or the config map Pulumi hands a program.

Only our namespace's keys (`gpu-node-pools:<key>`) are kept; `parse_platform_config` validates them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from .platform import (
    CONFIG_NAMESPACE,
    ConfigError,
    PlatformConfig,
    parse_platform_config,
)

__all__ = ["find_project_root", "load_stack", "namespace_values", "read_stack_file", "stack_file"]


def find_project_root(start: Path | None = None) -> Path:
    """The nearest folder at or above `start` (default: cwd) holding Pulumi.yaml; else `start` itself."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "Pulumi.yaml").is_file():
            return folder
    return here


def stack_file(stack: str, root: Path) -> Path:
    return root / "stacks" / f"Pulumi.{stack}.yaml"


def read_stack_file(path: Path, source: str) -> dict[str, Any]:
    """Our namespace's keys from a stack file, un-namespaced; other namespaces (aws:, kubernetes:) are skipped."""
    if not path.is_file():
        raise ConfigError(source, [("", f"stack file not found ({path})")])
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise ConfigError(source, [("", f"not valid YAML: {error}")]) from None
    config = document.get("config") or {}
    if not isinstance(config, dict):
        raise ConfigError(source, [("config", "must be a mapping of config keys")])
    return namespace_values(config)


def namespace_values(config: Mapping[str, Any]) -> dict[str, Any]:
    """Keys `gpu-node-pools:x` (or a bare `x`, which Pulumi puts in the project's namespace) -> {x: value}.

    Pulumi hands a program its config as strings, objects JSON-encoded; stack files hold them as YAML. Both
    arrive here: a string that parses as a JSON object or list is decoded.
    """
    values: dict[str, Any] = {}
    for key, value in config.items():
        namespace, _, name = str(key).rpartition(":")
        if namespace not in ("", CONFIG_NAMESPACE):
            continue
        values[name] = _decode(value)
    return values


def _decode(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def load_stack(stack: str, root: Path | None = None) -> PlatformConfig:
    """Read and validate `stacks/Pulumi.<stack>.yaml` under the project root."""
    project = root or find_project_root()
    path = stack_file(stack, project)
    source = str(path.relative_to(project)) if path.is_relative_to(project) else str(path)
    return parse_platform_config(read_stack_file(path, source), source)
