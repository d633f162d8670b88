"""Bottlerocket settings for NVIDIA pools, and the TOML user data that carries them.

Bottlerocket NVIDIA images run their own NVIDIA device plugin (ours stays off those nodes), configured through
Bottlerocket settings rather than a ConfigMap. The setting names are Bottlerocket's API reference
(bottlerocket.dev/en/os/1.54.x/api/settings/kubelet-device-plugins and .../nvidia-container-runtime) and the
template that turns them into the plugin's config (bottlerocket-os/bottlerocket-core-kit,
packages/nvidia-k8s-device-plugin/nvidia-k8s-device-plugin-conf).

On a managed node group without a custom AMI, EKS merges this user data with its own bootstrap settings, so only
our settings go here. EKS accepts a subset of TOML: plain `[table]` headers with `key = value` lines, which is all
`settings_toml` writes.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

from ..config.device_plugin import DevicePluginConfig
from ..config.node_agent import NodeAgentConfig

__all__ = ["bottlerocket_nvidia_settings", "bottlerocket_user_data", "settings_toml"]


def bottlerocket_nvidia_settings(device_plugin: DevicePluginConfig, node_agent: NodeAgentConfig) -> dict[str, Any]:
    """The `settings` a Bottlerocket NVIDIA node needs to match the platform config; {} when it needs none."""
    settings: dict[str, Any] = {}
    sharing = device_plugin.time_slicing
    if sharing is not None:
        # Time-slicing is a property of the GPUs, so it holds whether or not our own plugin DaemonSet is enabled.
        settings["kubelet-device-plugins"] = {
            "nvidia": {
                "device-sharing-strategy": "time-slicing",
                "time-slicing": {
                    "replicas": sharing.replicas,
                    # Bottlerocket's defaults differ from the plugin's: it renames the resource to
                    # nvidia.com/gpu.shared and fails requests for more than one share. Keep nvidia.com/gpu (the
                    # name quotas and workloads use) and our own choice, so every GPU pool advertises the same.
                    "rename-by-default": False,
                    "fail-requests-greater-than-one": sharing.fail_requests_greater_than_one,
                },
            }
        }
    if node_agent.enabled:
        # The agent is an unprivileged pod that asks for GPUs with NVIDIA_VISIBLE_DEVICES alone; Bottlerocket
        # ignores that variable in unprivileged containers unless this is true (default false). The price: any pod
        # on the node may pick GPUs that way, as on AL2023 NVIDIA nodes, so the GPU taint is what fences them.
        settings["nvidia-container-runtime"] = {"visible-devices-envvar-when-unprivileged": True}
    return {"settings": settings} if settings else {}


def settings_toml(document: Mapping[str, Any]) -> str:
    """`document` (nested tables of strings, integers and booleans) as TOML, one `[dotted.table]` per table."""
    lines: list[str] = []
    _table(document, [], lines)
    return "\n".join(lines) + "\n"


def bottlerocket_user_data(settings: Mapping[str, Any]) -> str | None:
    """Base64 TOML user data for EC2's LaunchTemplateData.UserData; None when there is nothing to set."""
    if not settings:
        return None
    return base64.b64encode(settings_toml(settings).encode()).decode()


def _table(table: Mapping[str, Any], path: list[str], lines: list[str]) -> None:
    values = {k: v for k, v in table.items() if not isinstance(v, Mapping)}
    if values and path:
        if lines:
            lines.append("")
        lines.append(f"[{'.'.join(path)}]")
    for key, value in values.items():
        lines.append(f"{key} = {_value(value)}")
    for key, sub in table.items():
        if isinstance(sub, Mapping):
            _table(sub, [*path, key], lines)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string is a JSON string for the characters we write
    raise TypeError(f"no TOML spelling for {value!r}")
