from __future__ import annotations

import argparse

import pytest

from gpu_node_agent.config import ConfigError, add_run_arguments, run_config, validate_prefix


def config(argv: list[str], env: dict[str, str] | None = None):
    parser = argparse.ArgumentParser()
    add_run_arguments(parser)
    return run_config(parser.parse_args(argv), env or {})


def test_defaults_need_only_a_node_name() -> None:
    cfg = config([], {"NODE_NAME": "ip-10-0-0-1"})
    assert (cfg.gpu_source, cfg.interval_seconds, cfg.port, cfg.prefix, cfg.dry_run) == (
        "nvml",
        15.0,
        9402,
        "node-agent.gpu-node-pools.io/",
        False,
    )
    assert cfg.kube.describe() == "in-cluster service account"


def test_every_flag_can_come_from_the_environment_and_flags_win() -> None:
    env = {
        "NODE_NAME": "n1",
        "GPU_NODE_AGENT_INTERVAL": "5",
        "GPU_NODE_AGENT_PORT": "9999",
        "GPU_NODE_AGENT_GPU_SOURCE": "simulated:x.yaml",
        "GPU_NODE_AGENT_DRY_RUN": "true",
        "GPU_NODE_AGENT_GFD_LABELS": "1",
        "GPU_NODE_AGENT_PREFIX": "gpu.example.com/",
    }
    cfg = config(["--interval", "7"], env)
    assert (cfg.interval_seconds, cfg.port, cfg.gpu_source, cfg.dry_run, cfg.gfd_labels, cfg.prefix) == (
        7.0,
        9999,
        "simulated:x.yaml",
        True,
        True,
        "gpu.example.com/",
    )
    assert cfg.owned_extra_keys == ("nvidia.com/gpu.product", "nvidia.com/gpu.count", "nvidia.com/gpu.memory")


def test_host_process_against_a_local_api_server() -> None:
    cfg = config(
        ["--node-name", "n1", "--api-server", "https://127.0.0.1:6443", "--token-file", "/t", "--ca-file", "/ca"]
    )
    assert cfg.kube.api_server == "https://127.0.0.1:6443" and cfg.kube.token_file == "/t" and cfg.kube.ca_file == "/ca"


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        (["--interval", "soon"], {}, r"--interval='soon': not a float"),
        ([], {"GPU_NODE_AGENT_INTERVAL": "0.1"}, r"\$GPU_NODE_AGENT_INTERVAL='0.1': must be at least 1"),
        (["--port", "70000"], {}, r"--port=70000: not a port"),
        ([], {"GPU_NODE_AGENT_DRY_RUN": "maybe"}, r"\$GPU_NODE_AGENT_DRY_RUN='maybe': expected true or false"),
        (["--gpu-source", "dcgm"], {}, r"--gpu-source='dcgm': expected nvml or simulated:FILE"),
        (["--prefix", "gpu-node-pools.io/"], {}, r"holds labels the agent must not own"),
        ([], {"NODE_NAME": ""}, r"no node name: set NODE_NAME"),
        (["--api-server", "https://x"], {}, r"--api-server needs --token-file"),
        (["--max-writes-per-hour", "0"], {}, r"--max-writes-per-hour='0': must be at least 1"),
        ([], {"GPU_NODE_AGENT_WINDOW_SECONDS": "-5"}, r"\$GPU_NODE_AGENT_WINDOW_SECONDS='-5': must be at least 0"),
        (["--read-failure-cycles", "2.5"], {}, r"--read-failure-cycles='2.5': not a int"),
        (["--repair-condition", "Ready=False"], {}, r"--repair-condition='Ready=False': .* belongs to the kubelet"),
        (["--repair-taint"], {}, r"--repair-taint needs --repair-condition"),
        ([], {"GPU_NODE_AGENT_REPAIR_CONDITION": "KWOKUnhealthy"}, r"\$GPU_NODE_AGENT_REPAIR_CONDITION='KWOKUnhealthy'"),
    ],
)
def test_errors_name_the_value_and_its_source(argv: list[str], env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        config(argv, {"NODE_NAME": "n", **env} if "NODE_NAME" not in env else env)


@pytest.mark.parametrize(
    ("prefix", "ok"),
    [
        ("node-agent.gpu-node-pools.io/", True),
        ("gpu.example.com/", True),
        ("gpu-node-pools.io/", False),  # our pool labels
        ("nvidia.com/", False),  # GFD's
        ("node.kubernetes.io/", False),
        ("k8s.io/", False),
        ("no-slash", False),
        ("UPPER.example.com/", False),
    ],
)
def test_prefix_rules(prefix: str, ok: bool) -> None:
    assert (validate_prefix(prefix) is None) is ok


def test_pod_resources_is_off_by_default_and_on_by_flag_or_environment() -> None:
    assert not config(["--node-name", "n1"]).pod_resources
    on = config(["--node-name", "n1", "--pod-resources"])
    assert on.pod_resources and on.pod_resources_socket == "/var/lib/kubelet/pod-resources/kubelet.sock"
    by_env = config(
        ["--node-name", "n1"],
        {"GPU_NODE_AGENT_POD_RESOURCES": "true", "GPU_NODE_AGENT_POD_RESOURCES_SOCKET": "/run/k.sock"},
    )
    assert by_env.pod_resources and by_env.pod_resources_socket == "/run/k.sock"


def test_a_relative_pod_resources_socket_is_named() -> None:
    with pytest.raises(ConfigError, match=r"--pod-resources-socket='kubelet.sock': must be an absolute"):
        config(["--node-name", "n1", "--pod-resources", "--pod-resources-socket", "kubelet.sock"])


def test_pod_resources_without_h2_installed_says_which_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "h2" else real(name, *a))
    with pytest.raises(ConfigError, match=r"\$GPU_NODE_AGENT_POD_RESOURCES needs h2: install gpu-node-agent"):
        config(["--node-name", "n1"], {"GPU_NODE_AGENT_POD_RESOURCES": "1"})


def test_the_repair_condition_is_off_by_default_and_carries_its_polarity() -> None:
    assert config([], {"NODE_NAME": "n"}).repair_condition is None
    on = config([], {"NODE_NAME": "n", "GPU_NODE_AGENT_REPAIR_CONDITION": "KWOKUnhealthy=True"}).repair_condition
    assert on is not None and (on.type, on.unhealthy_status, on.healthy_status) == ("KWOKUnhealthy", "True", "False")


def test_the_mig_strategy_is_the_device_plugin_s_none_by_default_and_checked() -> None:
    assert config([], {"NODE_NAME": "n"}).mig_strategy == "none"
    assert config([], {"NODE_NAME": "n", "GPU_NODE_AGENT_MIG_STRATEGY": "mixed"}).mig_strategy == "mixed"
    with pytest.raises(ConfigError, match=r"--mig-strategy='auto': expected one of none, single, mixed"):
        config(["--mig-strategy", "auto"], {"NODE_NAME": "n"})


def test_a_pod_resources_file_turns_file_attribution_on_and_is_no_companion_of_the_socket() -> None:
    assert config(["--node-name", "n1"]).pod_resources_file is None
    on = config(["--node-name", "n1"], {"GPU_NODE_AGENT_POD_RESOURCES_FILE": "/run/pods.json"})
    assert on.pod_resources_file == "/run/pods.json" and not on.pod_resources
    with pytest.raises(ConfigError, match=r"--pod-resources-file and --pod-resources are alternatives"):
        config(["--node-name", "n1", "--pod-resources", "--pod-resources-file", "/run/pods.json"])
