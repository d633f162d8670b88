"""Wires `run`: a reader, the label sources, the churn policy, the Kubernetes sinks, metrics, and the loop."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from prometheus_client import CollectorRegistry, ProcessCollector

from .config import RunConfig
from .history import ReadHistory
from .kubeclient import make_client
from .lease import Heartbeat, lease_duration
from .metrics import AgentCollector
from .nodelabels import NodeLabeler, ownership
from .nvml import NvmlReader
from .podfile import PodResourcesFile
from .podresources import PodResourcesClient
from .repair import ConditionWriter, repair_taint_key
from .policy import PublishPolicy
from .retry import Backoff
from .runner import Agent, GpuReader, HeartbeatSink, LabelSink
from .server import MetricsServer
from .simulated import SimulatedReader
from .sources import label_sources, live_keys
from .state import AgentView
from .window import LiveWindow

__all__ = ["build_agent", "make_reader", "serve"]

log = logging.getLogger(__name__)


def make_reader(gpu_source: str, watch_xid: bool = True) -> GpuReader:
    """`nvml` or `simulated:FILE` (already validated by the config); `watch_xid=False` for a one-shot read, which
    has no use for the XID event thread."""
    if gpu_source.startswith("simulated:"):
        return SimulatedReader(Path(gpu_source.removeprefix("simulated:")), watch_xid=watch_xid)
    return NvmlReader(watch_xid=watch_xid)


def build_agent(
    config: RunConfig,
    reader: GpuReader,
    labels: LabelSink | None = None,
    heartbeat: HeartbeatSink | None = None,
    clock: Callable[[], float] = time.monotonic,
    wall: Callable[[], float] = time.time,
) -> Agent:
    """The agent's loop as `config` tunes it; `run` and `replay` both build it here, so a replay runs the
    daemon's own policy."""
    return Agent(
        reader=reader,
        sources=label_sources(gfd=config.gfd_labels, mig_strategy=config.mig_strategy),
        prefix=config.prefix,
        policy=PublishPolicy(
            live_keys=live_keys(config.prefix),
            settle_seconds=config.settle_seconds,
            min_interval_seconds=config.min_write_interval_seconds,
            max_writes_per_hour=config.max_writes_per_hour,
        ),
        view=AgentView(node=config.node_name),
        labels=labels,
        heartbeat=heartbeat,
        clock=clock,
        wall=wall,
        history=ReadHistory(failure_threshold=config.read_failure_cycles),
        window=LiveWindow(seconds=config.window_seconds),
    )


def serve(config: RunConfig, stop: threading.Event, ready: threading.Event | None = None) -> None:
    """Runs until `stop` is set. Raises `NvmlUnavailable` / `SimulationError` before serving anything."""
    reader = make_reader(config.gpu_source)
    reader.open()
    client = None if config.dry_run else make_client(config.kube)
    # Retries end within one interval, so an API outage delays the next read by at most that much.
    backoff = Backoff(budget_seconds=config.interval_seconds)
    agent = build_agent(
        config,
        reader,
        labels=None
        if client is None
        else NodeLabeler(client, config.node_name, ownership(config.prefix, config.owned_extra_keys), backoff),
        heartbeat=None
        if client is None
        else Heartbeat(client, config.node_name, config.namespace, lease_duration(config.interval_seconds), backoff),
    )
    if client is not None and config.repair_condition is not None:
        taint = repair_taint_key(config.prefix) if config.repair_taint else None
        agent.condition = ConditionWriter(client, config.node_name, config.repair_condition, backoff, taint)
    # Built here, not in build_agent: h2 and protobuf are imported only by an agent that asks for pod labels.
    pods: PodResourcesClient | PodResourcesFile | None = None
    if config.pod_resources:
        pods = PodResourcesClient(config.pod_resources_socket)
    elif config.pod_resources_file:
        pods = PodResourcesFile(config.pod_resources_file)
    if pods is not None:
        agent.pods = pods.lookup
    registry = CollectorRegistry()
    registry.register(AgentCollector(lambda: agent.view))
    ProcessCollector(registry=registry)  # process_*: the agent's own CPU, memory and file descriptors
    started = time.time()
    stall_after = 3 * config.interval_seconds + 2 * backoff.budget_seconds

    def healthy() -> bool:
        last = agent.view.last_cycle_time or started
        return time.time() - last < stall_after

    server = MetricsServer(config.address, config.port, registry, healthy)
    try:
        server.start()
        log.info("serving /metrics and /healthz on %s:%d", config.address, server.port)
        if ready is not None:
            ready.set()
        agent.run(stop, config.interval_seconds)
    finally:
        server.close()
        reader.close()
        if pods is not None:
            pods.close()
        if client is not None:
            client.close()
        log.info("stopped")
