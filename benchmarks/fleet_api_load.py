"""The node agent's load on the API server for a whole fleet: requests per second from 1,000 simulated GPU nodes,
reads and writes, against kubelet's own node-lease renewals in the same run.

Each node runs the agent's real loop (`daemon.build_agent`: the NVML adapter over the fake pynvml replaying one of
the benchmark traces, the label sources, the window, the churn policy with its hourly cap, the 10-minute resync)
on a virtual clock, one cycle every 15 s as the DaemonSet does, with the real API sinks: `NodeLabeler` (GET the
Node, PATCH on change), `ConditionWriter` (node repair; the condition is written once, at start, on a healthy node)
and `Heartbeat`. Their client counts each request by verb and resource instead of sending it; the Node and Lease
it keeps answer reads as the API server would. Every beat drives two heartbeats, each with its own counter: the
shipped one (120 s lease renewed at a quarter, never more often than the cycle) and the previous one (45 s lease
renewed every cycle). Kubelet renews its node Lease every 10 s (0.25 of its 40 s lease; kubelet's
`nodeLeaseDurationSeconds` default), counted on the same clock. Nodes start at staggered points of their traces;
the first 10 minutes (start-up writes) are left out of the rates.

Run: .venv/bin/python benchmarks/fleet_api_load.py [--nodes 1000] [--minutes 60]
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from traces.make_shape_traces import SHAPES, trace_path  # noqa: E402

from gpu_node_agent import simulated  # noqa: E402
from gpu_node_agent.config import RunConfig  # noqa: E402
from gpu_node_agent.daemon import build_agent  # noqa: E402
from gpu_node_agent.lease import Heartbeat, lease_duration  # noqa: E402
from gpu_node_agent.nodelabels import NodeLabeler, ownership  # noqa: E402
from gpu_node_agent.repair import ConditionWriter, RepairCondition  # noqa: E402
from gpu_node_agent.replay import VirtualClock  # noqa: E402

CONFIG = RunConfig(node_name="bench")
KUBELET_LEASE_SECONDS, KUBELET_RENEW_SECONDS = 40, 10.0
WARMUP_SECONDS = 600.0
NAMESPACE = "gpu-node-agent"
SHAPE_NAMES = [*SHAPES, "noisy-training"]

# 1,000 readers of eight traces: parse each file once (the Simulation is read-only).
simulated.load_simulation = functools.cache(simulated.load_simulation)


class CountingClient:
    """The agent's `KubeClient` as the sinks call it: counts each request, keeps the one Node's state."""

    def __init__(self, counts: Counter[tuple[str, str]], clock: Callable[[], float]) -> None:
        self.counts = counts
        self._clock = clock
        self.labels: dict[str, str] = {}
        self.conditions: dict[str, dict[str, Any]] = {}
        self.version = 1

    def _count(self, verb: str, resource: str) -> None:
        if self._clock() >= WARMUP_SECONDS:
            self.counts[(verb, resource)] += 1

    def get_node(self, name: str) -> dict[str, Any]:
        self._count("GET", "nodes")
        return {
            "metadata": {"labels": dict(self.labels), "resourceVersion": str(self.version)},
            "status": {"conditions": [dict(c) for c in self.conditions.values()]},
        }

    def patch_node(self, name: str, body: Mapping[str, Any]) -> None:
        self._count("PATCH", "nodes")
        for key, value in body["metadata"].get("labels", {}).items():
            if value is None:
                self.labels.pop(key, None)
            else:
                self.labels[key] = value
        self.version += 1

    def patch_node_status(self, name: str, body: Mapping[str, Any]) -> None:
        self._count("PATCH", "nodes/status")
        for entry in body["status"]["conditions"]:
            self.conditions[entry["type"]] = entry
        self.version += 1

    def apply_lease(self, namespace: str, name: str, body: Mapping[str, Any]) -> None:
        self._count("PATCH", "leases")
        self.version += 1


class BothHeartbeats:
    """The agent's one heartbeat sink, driving the shipped and the previous renewal schedule side by side."""

    def __init__(self, *beats: Heartbeat) -> None:
        self.beats = beats

    def beat(self, now: datetime) -> bool:
        return any([b.beat(now) for b in self.beats])


@dataclass
class Node:
    shape: str
    clock: VirtualClock
    agent: Any
    close: Callable[[], None]


def make_node(index: int, counts: dict[str, Counter[tuple[str, str]]]) -> Node:
    shape = SHAPE_NAMES[index % len(SHAPE_NAMES)]
    path = trace_path(shape)
    clock = VirtualClock()
    reader = simulated.SimulatedReader(path, clock, watch_xid=False)
    reader.open()
    # Staggered: node i joins its trace at its own point, so the fleet's nodes don't change in step.
    clock.now = (index * 37.0) % 3600.0
    start = clock.now

    def since_start() -> float:
        return clock.now - start

    client = CountingClient(counts[shape], since_start)
    previous = CountingClient(counts["previous-lease"], since_start)
    name = f"gpu-{index:04d}"
    agent = build_agent(
        CONFIG,
        reader,
        labels=NodeLabeler(client, name, ownership(CONFIG.prefix)),  # type: ignore[arg-type]
        heartbeat=BothHeartbeats(
            Heartbeat(client, name, NAMESPACE, lease_duration(CONFIG.interval_seconds)),  # type: ignore[arg-type]
            Heartbeat(previous, name, NAMESPACE, int(3 * CONFIG.interval_seconds), renew_seconds=0),  # type: ignore[arg-type]
        ),
        clock=clock,
        wall=clock,
    )
    agent.condition = ConditionWriter(client, name, RepairCondition("AcceleratedHardwareReady", "False"))  # type: ignore[arg-type]
    return Node(shape, clock, agent, reader.close)


def kubelet_renewals(seconds: float, nodes: int) -> int:
    """Kubelet node-lease renewals in `seconds` after the warm-up: one per node every 10 s."""
    return nodes * int(seconds // KUBELET_RENEW_SECONDS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--minutes", type=float, default=60.0)
    args = parser.parse_args()
    seconds = args.minutes * 60.0
    counts: dict[str, Counter[tuple[str, str]]] = {s: Counter() for s in [*SHAPE_NAMES, "previous-lease"]}
    began = time.process_time()
    nodes = [make_node(i, counts) for i in range(args.nodes)]
    cycles = int(seconds // CONFIG.interval_seconds)
    for _ in range(cycles):
        for node in nodes:
            node.agent.cycle()
            node.clock.now += CONFIG.interval_seconds
    for node in nodes:
        node.close()
    measured = seconds - WARMUP_SECONDS
    cpu = time.process_time() - began
    per_shape = Counter(n.shape for n in nodes)

    def rate(counter: Counter[tuple[str, str]], verb: str | None = None, resource: str | None = None) -> float:
        total = sum(v for (vb, rs), v in counter.items() if verb in (None, vb) and resource in (None, rs))
        return total / measured

    fleet: Counter[tuple[str, str]] = Counter()
    for shape in SHAPE_NAMES:
        fleet.update(counts[shape])
    kubelet = kubelet_renewals(measured, args.nodes) / measured
    print(f"{args.nodes} nodes, {args.minutes:g} min virtual ({args.minutes - WARMUP_SECONDS / 60:g} min counted), "
          f"one cycle every {CONFIG.interval_seconds:g} s; {cycles * args.nodes} agent cycles in {cpu:.0f} s of CPU")
    print()
    header = f"{'requests/s per 1,000 nodes':38} {'GET nodes':>9} {'PATCH nodes':>11} {'PATCH status':>12} " \
             f"{'PATCH leases':>12} {'total':>8}"
    print(header)
    for shape in SHAPE_NAMES:
        scale = 1000 / per_shape[shape]
        c = counts[shape]
        print(f"{'agent, ' + shape:38} {rate(c, 'GET', 'nodes') * scale:9.3f} {rate(c, 'PATCH', 'nodes') * scale:11.3f} "
              f"{rate(c, 'PATCH', 'nodes/status') * scale:12.3f} {rate(c, 'PATCH', 'leases') * scale:12.3f} "
              f"{rate(c) * scale:8.3f}")
    scale = 1000 / args.nodes
    f = fleet
    total = rate(f) * scale
    print(f"{'agent, the mixed fleet':38} {rate(f, 'GET', 'nodes') * scale:9.3f} {rate(f, 'PATCH', 'nodes') * scale:11.3f} "
          f"{rate(f, 'PATCH', 'nodes/status') * scale:12.3f} {rate(f, 'PATCH', 'leases') * scale:12.3f} {total:8.3f}")
    old_leases = rate(counts["previous-lease"]) * scale
    old_total = total - rate(f, "PATCH", "leases") * scale + old_leases
    print(f"{'agent before (lease renewed each cycle)':38} {'':9} {'':11} {'':12} {old_leases:12.3f} {old_total:8.3f}")
    print(f"{'kubelet node lease (40 s, every 10 s)':38} {'':9} {'':11} {'':12} {kubelet * scale:12.3f} "
          f"{kubelet * scale:8.3f}")
    print()
    print(f"the agent's fleet total is {total / (kubelet * scale):.2f}x kubelet's node-lease rate "
          f"(before: {old_total / (kubelet * scale):.2f}x); its lease writes alone "
          f"{rate(f, 'PATCH', 'leases') / kubelet:.2f}x (before: {old_leases / (kubelet * scale):.2f}x)")
    print(f"on 10,000 nodes: {total * 10:.0f} requests/s (before: {old_total * 10:.0f}); kubelet's node leases "
          f"{kubelet * scale * 10:.0f} writes/s")
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    print(f"({now}, python {sys.version.split()[0]})")


if __name__ == "__main__":
    main()
