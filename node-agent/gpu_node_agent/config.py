"""`run`'s configuration: flags, else environment, else defaults, validated into one frozen value.

Every error names the bad value and where it came from (`--interval` or `GPU_NODE_AGENT_INTERVAL`).
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .kubeclient import KubeTarget
from .labels import GFD_KEYS, MIG_STRATEGIES
from .health import READ_FAILURE_CYCLES
from .podresources import DEFAULT_SOCKET as DEFAULT_POD_RESOURCES_SOCKET
from .policy import DEFAULT_MAX_WRITES_PER_HOUR, DEFAULT_MIN_INTERVAL_SECONDS, DEFAULT_SETTLE_SECONDS
from .repair import RepairCondition, parse_repair_condition
from .window import DEFAULT_WINDOW_SECONDS

__all__ = [
    "DEFAULT_INTERVAL_SECONDS",
    "DEFAULT_NAMESPACE",
    "DEFAULT_PORT",
    "DEFAULT_PREFIX",
    "ConfigError",
    "RunConfig",
    "add_run_arguments",
    "run_config",
    "validate_prefix",
]

DEFAULT_PREFIX = "node-agent.gpu-node-pools.io/"
DEFAULT_INTERVAL_SECONDS = 15.0
DEFAULT_PORT = 9402  # dcgm-exporter has 9400; the device plugin's metrics 9401 in some charts
DEFAULT_NAMESPACE = "gpu-node-agent"
# Kubernetes reserves these domains and their subdomains.
RESERVED_PREFIX_DOMAINS = ("kubernetes.io", "k8s.io")
# Taken by others: our pool labels (set by node groups) and GFD's own keys.
TAKEN_PREFIX_DOMAINS = ("gpu-node-pools.io", "nvidia.com")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


class ConfigError(ValueError):
    """A flag or environment value is invalid; the message names it."""


@dataclass(frozen=True)
class RunConfig:
    gpu_source: str = "nvml"
    interval_seconds: float = DEFAULT_INTERVAL_SECONDS
    address: str = "0.0.0.0"
    port: int = DEFAULT_PORT
    prefix: str = DEFAULT_PREFIX
    gfd_labels: bool = False
    mig_strategy: str = "none"  # the device plugin's --mig-strategy
    dry_run: bool = False
    node_name: str = ""
    namespace: str = DEFAULT_NAMESPACE
    settle_seconds: float = DEFAULT_SETTLE_SECONDS
    min_write_interval_seconds: float = DEFAULT_MIN_INTERVAL_SECONDS
    max_writes_per_hour: int = DEFAULT_MAX_WRITES_PER_HOUR
    window_seconds: float = DEFAULT_WINDOW_SECONDS
    read_failure_cycles: int = READ_FAILURE_CYCLES
    kube: KubeTarget = field(default_factory=KubeTarget)
    log_level: str = "INFO"
    pod_resources: bool = False
    pod_resources_socket: str = DEFAULT_POD_RESOURCES_SOCKET
    pod_resources_file: str | None = None  # simulated nodes: the pod-resources answer from a file (podfile.py)
    repair_condition: RepairCondition | None = None
    repair_taint: bool = False

    @property
    def owned_extra_keys(self) -> tuple[str, ...]:
        return GFD_KEYS if self.gfd_labels else ()


def validate_prefix(prefix: str) -> str | None:
    """None when `prefix` is a usable label prefix (`domain/`), else why not."""
    if not prefix.endswith("/"):
        return "must end with '/'"
    domain = prefix[:-1]
    if len(domain) > 253 or not _DNS_SUBDOMAIN.match(domain):
        return "must be a DNS subdomain (lowercase, at most 253 characters) followed by '/'"
    for reserved in RESERVED_PREFIX_DOMAINS:
        if domain == reserved or domain.endswith(f".{reserved}"):
            return f"{reserved} is reserved by Kubernetes"
    if domain in TAKEN_PREFIX_DOMAINS:
        return f"{domain}/ holds labels the agent must not own"
    return None


# (dest, flag, env, help). Flags win over the environment.
_OPTIONS: tuple[tuple[str, str, str, str], ...] = (
    ("gpu_source", "--gpu-source", "GPU_NODE_AGENT_GPU_SOURCE", "nvml (default) or simulated:FILE"),
    (
        "interval",
        "--interval",
        "GPU_NODE_AGENT_INTERVAL",
        f"seconds between reads (default {DEFAULT_INTERVAL_SECONDS:g})",
    ),
    ("address", "--address", "GPU_NODE_AGENT_ADDRESS", "metrics listen address (default 0.0.0.0)"),
    ("port", "--port", "GPU_NODE_AGENT_PORT", f"metrics port (default {DEFAULT_PORT}; 0 picks a free one)"),
    ("prefix", "--prefix", "GPU_NODE_AGENT_PREFIX", f"label prefix the agent owns (default {DEFAULT_PREFIX})"),
    (
        "mig_strategy",
        "--mig-strategy",
        "GPU_NODE_AGENT_MIG_STRATEGY",
        "none (default), single or mixed: the device plugin's --mig-strategy, which the MIG labels follow",
    ),
    ("node_name", "--node-name", "NODE_NAME", "this node's name (downward API); default: hostname with --dry-run"),
    ("namespace", "--namespace", "POD_NAMESPACE", f"namespace of the heartbeat Lease (default {DEFAULT_NAMESPACE})"),
    (
        "settle",
        "--settle-seconds",
        "GPU_NODE_AGENT_SETTLE_SECONDS",
        "how long a new bucket must hold before it is written",
    ),
    (
        "min_write_interval",
        "--min-write-interval",
        "GPU_NODE_AGENT_MIN_WRITE_INTERVAL",
        "minimum seconds between label writes",
    ),
    (
        "max_writes_per_hour",
        "--max-writes-per-hour",
        "GPU_NODE_AGENT_MAX_WRITES_PER_HOUR",
        f"cap on label writes per hour that change only live buckets (default {DEFAULT_MAX_WRITES_PER_HOUR})",
    ),
    (
        "window",
        "--window-seconds",
        "GPU_NODE_AGENT_WINDOW_SECONDS",
        f"live labels bucket the mean over this many seconds (default {DEFAULT_WINDOW_SECONDS:g})",
    ),
    (
        "read_failure_cycles",
        "--read-failure-cycles",
        "GPU_NODE_AGENT_READ_FAILURE_CYCLES",
        f"failed reads in a row before health degrades; a lost GPU degrades at once (default {READ_FAILURE_CYCLES})",
    ),
    ("kubeconfig", "--kubeconfig", "GPU_NODE_AGENT_KUBECONFIG", "kubeconfig file instead of in-cluster auth"),
    (
        "api_server",
        "--api-server",
        "GPU_NODE_AGENT_API_SERVER",
        "API server URL (with --token-file) instead of in-cluster auth",
    ),
    ("token_file", "--token-file", "GPU_NODE_AGENT_TOKEN_FILE", "bearer token file, re-read when the token rotates"),
    ("ca_file", "--ca-file", "GPU_NODE_AGENT_CA_FILE", "CA bundle for --api-server"),
    ("log_level", "--log-level", "GPU_NODE_AGENT_LOG_LEVEL", "DEBUG, INFO (default), WARNING, ERROR"),
    (
        "pod_resources_socket",
        "--pod-resources-socket",
        "GPU_NODE_AGENT_POD_RESOURCES_SOCKET",
        f"the kubelet's pod-resources socket (default {DEFAULT_POD_RESOURCES_SOCKET})",
    ),
    (
        "pod_resources_file",
        "--pod-resources-file",
        "GPU_NODE_AGENT_POD_RESOURCES_FILE",
        "pod labels from this JSON file (the pod-resources List answer) instead of the kubelet's socket: for "
        "simulated nodes, which have no kubelet",
    ),
    (
        "repair_condition",
        "--repair-condition",
        "GPU_NODE_AGENT_REPAIR_CONDITION",
        "node condition for node repair, TYPE=STATUS with the status meaning unhealthy (AcceleratedHardwareReady=False "
        "on EKS, KWOKUnhealthy=True with Karpenter's kwok provider); set on a lost GPU or critical XID (default: none)",
    ),
)
_SWITCHES: tuple[tuple[str, str, str, str], ...] = (
    ("gfd_labels", "--gfd-labels", "GPU_NODE_AGENT_GFD_LABELS", "also write nvidia.com/gpu.product|count|memory"),
    ("dry_run", "--dry-run", "GPU_NODE_AGENT_DRY_RUN", "log label changes, write nothing, need no cluster"),
    (
        "insecure",
        "--insecure-skip-tls-verify",
        "GPU_NODE_AGENT_INSECURE_SKIP_TLS_VERIFY",
        "do not verify the API server's certificate (local tests only)",
    ),
    (
        "pod_resources",
        "--pod-resources",
        "GPU_NODE_AGENT_POD_RESOURCES",
        "add pod/namespace/container labels to per-GPU metrics from the kubelet pod-resources API "
        "(needs the gpu-node-agent[pod-resources] extra)",
    ),
    (
        "repair_taint",
        "--repair-taint",
        "GPU_NODE_AGENT_REPAIR_TAINT",
        "with --repair-condition: also taint an unhealthy node <prefix>gpu-unhealthy:NoSchedule until it is healthy",
    ),
)


# What `replay` takes: the knobs that decide what is written and when.
TUNING = (
    "interval",
    "prefix",
    "settle",
    "min_write_interval",
    "max_writes_per_hour",
    "window",
    "read_failure_cycles",
    "gfd_labels",
    "mig_strategy",
)


def add_run_arguments(parser: argparse.ArgumentParser, only: tuple[str, ...] | None = None) -> None:
    for dest, flag, env, text in _OPTIONS:
        if only is None or dest in only:
            parser.add_argument(flag, dest=dest, default=None, help=f"{text} [env {env}]")
    for dest, flag, env, text in _SWITCHES:
        if only is None or dest in only:
            parser.add_argument(flag, dest=dest, action="store_true", default=None, help=f"{text} [env {env}]")


class _Values:
    """Looks a setting up in the flags, then the environment; remembers where each came from."""

    def __init__(self, args: argparse.Namespace, env: Mapping[str, str]) -> None:
        self._args = args
        self._env = env
        self._names = {dest: (flag, env_name) for dest, flag, env_name, _ in _OPTIONS + _SWITCHES}

    def raw(self, dest: str) -> tuple[Any, str]:
        flag, env_name = self._names[dest]
        value = getattr(self._args, dest, None)
        if value is not None:
            return value, flag
        if env_name in self._env:
            return self._env[env_name], f"${env_name}"
        return None, ""

    def text(self, dest: str, default: str) -> str:
        value, _ = self.raw(dest)
        return default if value in (None, "") else str(value)

    def number(self, dest: str, default: float, *, minimum: float, kind: type = float) -> Any:
        value, source = self.raw(dest)
        if value in (None, ""):
            return default
        try:
            number = kind(value)
        except ValueError:
            raise ConfigError(f"{source}={value!r}: not a {kind.__name__}") from None
        if number < minimum:
            raise ConfigError(f"{source}={value!r}: must be at least {minimum:g}")
        return number

    def switch(self, dest: str) -> bool:
        value, source = self.raw(dest)
        if value is None or value is True:
            return bool(value)
        lowered = str(value).strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("", "0", "false", "no", "off"):
            return False
        raise ConfigError(f"{source}={value!r}: expected true or false")


def _missing(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is None
    except ModuleNotFoundError:  # the parent package (`google`) is absent
        return True


def run_config(args: argparse.Namespace, env: Mapping[str, str]) -> RunConfig:
    values = _Values(args, env)
    gpu_source = values.text("gpu_source", "nvml")
    if gpu_source != "nvml" and not gpu_source.startswith("simulated:"):
        raise ConfigError(f"{values.raw('gpu_source')[1]}={gpu_source!r}: expected nvml or simulated:FILE")
    prefix = values.text("prefix", DEFAULT_PREFIX)
    problem = validate_prefix(prefix)
    if problem:
        raise ConfigError(f"{values.raw('prefix')[1]}={prefix!r}: {problem}")
    mig_strategy = values.text("mig_strategy", "none")
    if mig_strategy not in MIG_STRATEGIES:
        where = values.raw("mig_strategy")[1]
        raise ConfigError(f"{where}={mig_strategy!r}: expected one of {', '.join(MIG_STRATEGIES)}")
    port = values.number("port", DEFAULT_PORT, minimum=0, kind=int)
    if port > 65535:
        raise ConfigError(f"{values.raw('port')[1]}={port}: not a port")
    dry_run = values.switch("dry_run")
    node_name = values.text("node_name", "")
    if not node_name:
        if not dry_run:
            raise ConfigError("no node name: set NODE_NAME (the DaemonSet sets it from spec.nodeName) or --node-name")
        node_name = socket.gethostname()
    log_level = values.text("log_level", "INFO").upper()
    if log_level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError(f"{values.raw('log_level')[1]}={log_level!r}: expected DEBUG, INFO, WARNING or ERROR")
    kube = KubeTarget(
        kubeconfig=values.text("kubeconfig", "") or None,
        api_server=values.text("api_server", "") or None,
        token_file=values.text("token_file", "") or None,
        ca_file=values.text("ca_file", "") or None,
        insecure_skip_tls_verify=values.switch("insecure"),
    )
    if kube.api_server and not kube.token_file:
        raise ConfigError(f"{values.raw('api_server')[1]} needs --token-file (or GPU_NODE_AGENT_TOKEN_FILE)")
    if kube.api_server and kube.kubeconfig:
        raise ConfigError("--api-server and --kubeconfig are alternatives: give one")
    pod_resources = values.switch("pod_resources")
    pod_resources_socket = values.text("pod_resources_socket", DEFAULT_POD_RESOURCES_SOCKET)
    if pod_resources and not pod_resources_socket.startswith("/"):
        raise ConfigError(
            f"{values.raw('pod_resources_socket')[1]}={pod_resources_socket!r}: must be an absolute socket path"
        )
    missing = [name for name in ("h2", "google.protobuf") if pod_resources and _missing(name)]
    if missing:
        raise ConfigError(
            f"{values.raw('pod_resources')[1]} needs {' and '.join(missing)}: install gpu-node-agent[pod-resources]"
        )
    pod_resources_file = values.text("pod_resources_file", "") or None
    if pod_resources_file and pod_resources:
        raise ConfigError(
            f"{values.raw('pod_resources_file')[1]} and {values.raw('pod_resources')[1]} are alternatives: give one"
        )
    repair_text = values.text("repair_condition", "")
    try:
        repair_condition = parse_repair_condition(repair_text) if repair_text else None
    except ValueError as error:
        raise ConfigError(f"{values.raw('repair_condition')[1]}={repair_text!r}: {error}") from None
    repair_taint = values.switch("repair_taint")
    if repair_taint and repair_condition is None:
        raise ConfigError(f"{values.raw('repair_taint')[1]} needs --repair-condition (or GPU_NODE_AGENT_REPAIR_CONDITION)")
    return RunConfig(
        gpu_source=gpu_source,
        interval_seconds=values.number("interval", DEFAULT_INTERVAL_SECONDS, minimum=1),
        address=values.text("address", "0.0.0.0"),
        port=port,
        prefix=prefix,
        gfd_labels=values.switch("gfd_labels"),
        mig_strategy=mig_strategy,
        dry_run=dry_run,
        node_name=node_name,
        namespace=values.text("namespace", DEFAULT_NAMESPACE),
        settle_seconds=values.number("settle", DEFAULT_SETTLE_SECONDS, minimum=0),
        min_write_interval_seconds=values.number("min_write_interval", DEFAULT_MIN_INTERVAL_SECONDS, minimum=0),
        max_writes_per_hour=values.number("max_writes_per_hour", DEFAULT_MAX_WRITES_PER_HOUR, minimum=1, kind=int),
        window_seconds=values.number("window", DEFAULT_WINDOW_SECONDS, minimum=0),
        read_failure_cycles=values.number("read_failure_cycles", READ_FAILURE_CYCLES, minimum=1, kind=int),
        kube=kube,
        log_level=log_level,
        pod_resources=pod_resources,
        pod_resources_socket=pod_resources_socket,
        pod_resources_file=pod_resources_file,
        repair_condition=repair_condition,
        repair_taint=repair_taint,
    )
