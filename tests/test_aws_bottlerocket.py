"""Bottlerocket NVIDIA settings from the platform config, and the TOML user data that carries them."""

import base64
import tomllib

import pytest
from gpu_node_pools.aws.bottlerocket import (
    bottlerocket_nvidia_settings,
    bottlerocket_user_data,
    settings_toml,
)
from gpu_node_pools.config.device_plugin import DevicePluginConfig
from gpu_node_pools.config.node_agent import NodeAgentConfig

TIME_SLICING_4 = {
    "device-sharing-strategy": "time-slicing",
    "time-slicing": {"replicas": 4, "rename-by-default": False, "fail-requests-greater-than-one": False},
}
AGENT_SEES_GPUS = {"visible-devices-envvar-when-unprivileged": True}


@pytest.mark.parametrize(
    ("device_plugin", "node_agent", "expected"),
    [
        ({}, {"enabled": False}, {}),
        ({}, {}, {"settings": {"nvidia-container-runtime": AGENT_SEES_GPUS}}),
        ({"timeSlicing": {"replicas": 4}}, {"enabled": False},
         {"settings": {"kubelet-device-plugins": {"nvidia": TIME_SLICING_4}}}),
        ({"timeSlicing": {"replicas": 4}}, {},
         {"settings": {"kubelet-device-plugins": {"nvidia": TIME_SLICING_4},
                       "nvidia-container-runtime": AGENT_SEES_GPUS}}),
        # Time-slicing describes the GPUs, not our DaemonSet: it holds with our plugin disabled too.
        ({"enabled": False, "timeSlicing": {"replicas": 4}}, {"enabled": False},
         {"settings": {"kubelet-device-plugins": {"nvidia": TIME_SLICING_4}}}),
    ],
    ids=["nothing", "agent", "time-slicing", "both", "time-slicing-own-plugin-off"],
)
def test_settings_follow_device_plugin_and_node_agent_config(
    device_plugin: dict, node_agent: dict, expected: dict
) -> None:
    settings = bottlerocket_nvidia_settings(
        DevicePluginConfig.model_validate(device_plugin), NodeAgentConfig.model_validate(node_agent)
    )
    assert settings == expected


def test_fail_requests_greater_than_one_is_passed_on() -> None:
    config = DevicePluginConfig.model_validate({"timeSlicing": {"replicas": 2, "failRequestsGreaterThanOne": True}})
    settings = bottlerocket_nvidia_settings(config, NodeAgentConfig(enabled=False))
    assert settings["settings"]["kubelet-device-plugins"]["nvidia"]["time-slicing"]["fail-requests-greater-than-one"]


def test_toml_uses_plain_table_headers_and_round_trips() -> None:
    document = {
        "settings": {"kubelet-device-plugins": {"nvidia": TIME_SLICING_4}, "nvidia-container-runtime": AGENT_SEES_GPUS}
    }
    text = settings_toml(document)
    assert text == (
        "[settings.kubelet-device-plugins.nvidia]\n"
        'device-sharing-strategy = "time-slicing"\n'
        "\n"
        "[settings.kubelet-device-plugins.nvidia.time-slicing]\n"
        "replicas = 4\n"
        "rename-by-default = false\n"
        "fail-requests-greater-than-one = false\n"
        "\n"
        "[settings.nvidia-container-runtime]\n"
        "visible-devices-envvar-when-unprivileged = true\n"
    )
    assert tomllib.loads(text) == document
    assert base64.b64decode(bottlerocket_user_data(document) or "").decode() == text


def test_no_settings_no_user_data() -> None:
    assert bottlerocket_user_data({}) is None
