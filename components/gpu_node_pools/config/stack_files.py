"""Where a stack's config comes from: `stacks/Pulumi.<stack>.yaml`, or the config map Pulumi hands a program.

Only our namespace's keys (`gpu-node-pools:<key>`) are kept; `parse_platform_config` validates them.
`resolve_image_build` reads the one value a stack file refers to rather than holds: the agent image `make image`
built (`nodeAgent.imageBuild`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from .image import image_problem
from .platform import CONFIG_NAMESPACE, ConfigError, PlatformConfig, parse_platform_config

__all__ = [
    "find_project_root",
    "load_stack",
    "namespace_values",
    "read_stack_file",
    "resolve_image_build",
    "stack_file",
]

# The name `make image` gives the agent image (tools/image/pack.sh); what it writes into its folder: the index
# digest, and amd64's image config (amd64 is always built) whose version label names the agent release.
_BUILT_REPOSITORY = "gpu-node-agent"
_BUILT_DIGEST = Path("digest")
_BUILT_CONFIG = Path("amd64") / "config.json"
_VERSION_LABEL = "org.opencontainers.image.version"


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


def load_stack(stack: str, root: Path | None = None, *, resolve_image: bool = False) -> PlatformConfig:
    """Read and validate `stacks/Pulumi.<stack>.yaml` under the project root. With `resolve_image`, as it deploys:
    a `nodeAgent.imageBuild` folder becomes the image built there (which needs `make image` first)."""
    project = root or find_project_root()
    path = stack_file(stack, project)
    source = str(path.relative_to(project)) if path.is_relative_to(project) else str(path)
    config = parse_platform_config(read_stack_file(path, source), source)
    return resolve_image_build(config, project, source) if resolve_image else config


def resolve_image_build(config: PlatformConfig, root: Path, source: str) -> PlatformConfig:
    """`config` with `nodeAgent.imageBuild` (a folder, relative to `root`) replaced by the image built there,
    `image: gpu-node-agent:<version>@<digest>`; unchanged when that key is unset or the agent disabled.

    Raises ConfigError naming `source`, the key and the file that is missing (nothing built yet) or wrong."""
    agent = config.node_agent
    if not agent.enabled or agent.image_build is None:
        return config
    try:
        image = _built_agent_image(root / Path(agent.image_build).expanduser())
    except ValueError as error:
        raise ConfigError(source, [(f"{CONFIG_NAMESPACE}:nodeAgent.imageBuild", str(error))]) from None
    return config.model_copy(update={"node_agent": agent.model_copy(update={"image": image, "image_build": None})})


def _built_agent_image(folder: Path) -> str:
    """`gpu-node-agent:<version>@<digest>` of the image `make image` built into `folder`; a ValueError names the
    file that is missing or not what the build writes."""
    digest_file, config_file = folder / _BUILT_DIGEST, folder / _BUILT_CONFIG
    for path in (digest_file, config_file):
        if not path.is_file():
            raise ValueError(f"no agent image is built in {folder} ({path} is missing): run `make image` "
                             "(`make up` does)")
    try:
        version = json.loads(config_file.read_text())["config"]["Labels"][_VERSION_LABEL]
    except (json.JSONDecodeError, KeyError, TypeError):
        raise ValueError(f"{config_file} has no {_VERSION_LABEL} label: rebuild with `make image`") from None
    image = f"{_BUILT_REPOSITORY}:{version}@{digest_file.read_text().strip()}"
    if problem := image_problem(image):
        raise ValueError(f"{digest_file} and {config_file} name no pinned image ({problem}): rebuild with `make image`")
    return image
