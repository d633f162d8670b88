"""Live GPU observability on the local cluster: a real `gpu-node-agent` per simulated GPU node, and a real
Prometheus scraping them with the stack's scrape config and evaluating the stack's alert rules.

Each agent is a host process for one node: it replays that node's simulated GPU scenario and authenticates with a
TokenRequest token bound to the agent DaemonSet's (kwok-simulated) pod on that node, so the API server puts the
node's name in the token and the admission policy checks every label write exactly as on a real node. As the
DaemonSet would, the supervisor follows the agent pods every RECONCILE_SECONDS: a GPU node that comes (one Karpenter
launched) gets its agent and a Prometheus target, one that goes has its agent stopped and its target dropped
(Prometheus reloads its config). It restarts whatever dies (backoff 1 s doubling to 30 s): one crashing agent never
touches the others, and Prometheus keeps scraping the rest. Tokens are renewed every TOKEN_RENEW_SECONDS (the agent re-reads its token
file on 401). State goes to <dir>/state.json: {"agents": {node: {pid, port, restarts}}, "prometheus": {...}}.

A kwok node has no kubelet to allocate devices, so the supervisor plays that part too: each node's simulated GPUs get
UUIDs of their own (as real ones are unique across a fleet), and every RECONCILE_SECONDS it gives the GPU pods on each
node the free simulated devices in scheduling order (a pod keeps its devices while it lives) and writes the node's
pod-resources answer to <dir>/pods-<node>.json, which the agent reads with `--pod-resources-file`: the series carry
the pod labels a real node's would.

    python scripts/local_observability.py --dir DIR --kubectl PATH --kubeconfig FILE --prometheus PATH \
        [--stack local] [--alerts-override JSON] [--scenario NODE=FILE ...] [--prometheus-port 9090] ...

It exits, stopping its children, on SIGTERM or when DIR disappears (the cluster was deleted).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
# Each node replays one of these in turn (node-agent/examples), so neighbouring nodes differ.
SCENARIOS = ("a10g-training.yaml", "a10g-serving.yaml")
AGENT_NAME = "gpu-node-agent"
TOKEN_SECONDS, TOKEN_RENEW_SECONDS = 3600, 1800
BACKOFF_FIRST, BACKOFF_MAX = 1.0, 30.0
POLL_SECONDS = 1.0
RECONCILE_SECONDS = 5.0


GPU_RESOURCE, MIG_RESOURCE_PREFIX = "nvidia.com/gpu", "nvidia.com/mig-"
PodKey = tuple[str, str, str]  # namespace, name, uid


@dataclass(frozen=True)
class AgentPlan:
    node: str
    pod: str
    port: int
    scenario: Path


def plan_agents(
    pods: Sequence[Mapping[str, Any]], base_port: int, scenarios: Mapping[str, Path], default_scenarios: Sequence[Path]
) -> list[AgentPlan]:
    """One agent per node that runs an agent pod, in node order; ports from base_port up."""
    return reconcile({}, pods, base_port, scenarios, default_scenarios)[0]


def reconcile(
    running: Mapping[str, int],
    pods: Sequence[Mapping[str, Any]],
    base_port: int,
    scenarios: Mapping[str, Path],
    default_scenarios: Sequence[Path],
) -> tuple[list[AgentPlan], list[str]]:
    """(agents to start, nodes whose agent to stop) to go from `running` (node -> port) to one agent per node that
    runs an agent pod. New agents take the lowest free ports from base_port, in node order; the default scenarios
    alternate by the node's place among all nodes, so a node keeps its scenario while others come and go."""
    by_node = {p["spec"]["nodeName"]: p["metadata"]["name"] for p in pods if p.get("spec", {}).get("nodeName")}
    taken = set(running.values())
    ports = (port for port in range(base_port, base_port + 65536) if port not in taken)
    order = {node: i for i, node in enumerate(sorted(set(by_node) | set(running)))}
    start = [
        AgentPlan(node, by_node[node], next(ports),
                  scenarios.get(node, default_scenarios[order[node] % len(default_scenarios)]))
        for node in sorted(by_node) if node not in running
    ]
    return start, sorted(node for node in running if node not in by_node)


def gpu_uuid(node: str, index: int) -> str:
    """A GPU UUID of this node's own, the same on every run."""
    return f"GPU-{uuid.uuid5(uuid.NAMESPACE_URL, f'gpu-node-pools.io/simulated/{node}/{index}')}"


def node_scenario(data: Mapping[str, Any], node: str) -> dict[str, Any]:
    """A scenario file's content with UUIDs of `node`'s own on each GPU that names none (`count` entries expanded,
    so indices stay as the file counts them)."""
    gpus: list[dict[str, Any]] = []
    index = 0
    for entry in data.get("gpus") or []:
        count = int(entry.get("count", 1))
        if "uuid" in entry:
            gpus.append(dict(entry))
        else:
            rest = {k: v for k, v in entry.items() if k != "count"}
            gpus += [{**rest, "uuid": gpu_uuid(node, index + n)} for n in range(count)]
        index += count
    return {**data, "gpus": gpus}


def node_devices(gpus: Sequence[Any], gpu_allocatable: int) -> dict[str, list[str]]:
    """Device ids per resource as the device plugin advertises them: whole GPUs as `nvidia.com/gpu`, each
    `gpu_allocatable // GPUs` times as time-slicing replicas (`<uuid>::<n>`, replica by replica, so shares spread
    over the GPUs), and MIG devices as `nvidia.com/mig-<profile>` (the mixed strategy). `gpus`: GpuSnapshots."""
    whole = [g for g in gpus if not g.mig_enabled]
    replicas = max(1, gpu_allocatable // len(whole)) if whole else 1
    devices: dict[str, list[str]] = {}
    if whole:
        devices[GPU_RESOURCE] = [g.uuid if replicas == 1 else f"{g.uuid}::{r}" for r in range(replicas) for g in whole]
    for g in gpus:
        for mig in g.mig_devices if g.mig_enabled else ():
            devices.setdefault(f"{MIG_RESOURCE_PREFIX}{mig.profile}", []).append(mig.uuid)
    return devices


def gpu_requests(pod: Mapping[str, Any]) -> list[tuple[str, str, int]]:
    """(container, resource, count) for each GPU or MIG resource a container's limits (else requests) ask for."""
    out = []
    for container in pod.get("spec", {}).get("containers", []):
        resources = container.get("resources") or {}
        for resource, value in {**(resources.get("requests") or {}), **(resources.get("limits") or {})}.items():
            if (resource == GPU_RESOURCE or resource.startswith(MIG_RESOURCE_PREFIX)) and int(value) > 0:
                out.append((container["name"], resource, int(value)))
    return out


def _pod_key(pod: Mapping[str, Any]) -> PodKey:
    meta = pod["metadata"]
    return meta.get("namespace", ""), meta["name"], meta.get("uid", "")


def _scheduling_order(pod: Mapping[str, Any]) -> tuple[str, str, str, str]:
    scheduled = next((c.get("lastTransitionTime") or "" for c in pod.get("status", {}).get("conditions") or []
                      if c.get("type") == "PodScheduled"), "")
    return (scheduled, pod["metadata"].get("creationTimestamp", ""), *_pod_key(pod)[:2])


def allocate(
    held: Mapping[PodKey, list[Any]], pods: Sequence[Mapping[str, Any]], devices: Mapping[str, Sequence[str]]
) -> dict[PodKey, list[Any]]:
    """The kubelet's device manager for one node: pods keep the devices they hold while they live; each new GPU pod,
    in scheduling order, takes the first free devices of each resource its containers ask for (a container the node
    cannot serve gets none: the kubelet would refuse it at admission). Values are podfile.Allocation lists."""
    from gpu_node_agent.podfile import Allocation
    from gpu_node_agent.podresources import PodRef

    live = {_pod_key(p): p for p in pods if gpu_requests(p)}
    kept = {key: allocations for key, allocations in held.items() if key in live}
    taken = {i for allocations in kept.values() for a in allocations for i in a.device_ids}
    for key in sorted((k for k in live if k not in kept), key=lambda k: _scheduling_order(live[k])):
        allocations = []
        for container, resource, count in gpu_requests(live[key]):
            free = [i for i in devices.get(resource, ()) if i not in taken]
            if len(free) >= count:
                taken.update(free[:count])
                allocations.append(Allocation(PodRef(key[1], key[0], container), resource, tuple(free[:count])))
        kept[key] = allocations
    return {key: kept[key] for key in sorted(kept, key=lambda k: _scheduling_order(live[k]))}


def bound_pods(pods: Sequence[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    """Node -> the pods bound to it that still hold their devices (not Succeeded or Failed)."""
    by_node: dict[str, list[Mapping[str, Any]]] = {}
    for pod in pods:
        node = pod.get("spec", {}).get("nodeName")
        if node and pod.get("status", {}).get("phase") not in ("Succeeded", "Failed"):
            by_node.setdefault(node, []).append(pod)
    return by_node


def write_json(path: Path, data: Any) -> None:
    """Whole or not at all: a reader never sees half a file."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1))
    os.replace(tmp, path)


def prometheus_config(
    agent_job: Mapping[str, Any], prometheus_port: int, scrape_interval: str, evaluation_interval: str
) -> dict[str, Any]:
    """prometheus.yml: the stack's agent job, Prometheus' own job, the generated rule file beside it."""
    return {
        "global": {
            "scrape_interval": scrape_interval,
            "scrape_timeout": scrape_interval,
            "evaluation_interval": evaluation_interval,
        },
        "rule_files": ["rules.yaml"],
        "scrape_configs": [
            dict(agent_job),
            {"job_name": "prometheus", "static_configs": [{"targets": [f"127.0.0.1:{prometheus_port}"]}]},
        ],
    }


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] observability: {message}", flush=True)


@dataclass
class Child:
    name: str
    argv: list[str]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    next_start: float = 0.0
    backoff: float = BACKOFF_FIRST
    started: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def start(self, now: float) -> None:
        with self.log_path.open("ab") as out:
            self.proc = subprocess.Popen(self.argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.started = now

    def poll(self, now: float) -> None:
        """Start it when it is not running and its backoff has passed; a run of 60 s resets the backoff."""
        if self.proc is not None and self.proc.poll() is None:
            if now - self.started > 60:
                self.backoff = BACKOFF_FIRST
            return
        if self.proc is not None:  # it died
            log(f"{self.name} exited ({self.proc.returncode}); restarting in {self.backoff:.0f}s")
            self.proc = None
            self.restarts += 1
            self.next_start = now + self.backoff
            self.backoff = min(self.backoff * 2, BACKOFF_MAX)
        if now >= self.next_start:
            self.start(now)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def running_agent_pods(pods: list[dict[str, Any]], namespace: str) -> list[dict[str, Any]]:
    """The agent DaemonSet's Running pods among `pods`."""
    return [p for p in pods if p["metadata"].get("namespace") == namespace
            and (p["metadata"].get("labels") or {}).get("app.kubernetes.io/name") == AGENT_NAME
            and p.get("status", {}).get("phase") == "Running"]


class Kube:
    def __init__(self, kubectl: str, kubeconfig: Path) -> None:
        self.kubectl, self.kubeconfig = kubectl, kubeconfig

    def run(self, *args: str) -> str:
        proc = subprocess.run([self.kubectl, "--kubeconfig", str(self.kubeconfig), *args],
                              capture_output=True, text=True, timeout=60)
        if proc.returncode != 0:
            raise RuntimeError(f"kubectl {' '.join(args)}: {proc.stderr.strip()}")
        return proc.stdout

    def agent_pods(self, namespace: str) -> list[dict[str, Any]]:
        pods = json.loads(self.run("get", "pods", "-n", namespace, "-l", f"app.kubernetes.io/name={AGENT_NAME}",
                                   "-o", "json"))["items"]
        return running_agent_pods(pods, namespace)

    def pods_and_nodes(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        items = json.loads(self.run("get", "pods,nodes", "--all-namespaces", "-o", "json"))["items"]
        return [i for i in items if i["kind"] == "Pod"], [i for i in items if i["kind"] == "Node"]

    def token(self, namespace: str, pod: str) -> str:
        return self.run("create", "token", AGENT_NAME, "-n", namespace, "--bound-object-kind", "Pod",
                        "--bound-object-name", pod, "--duration", f"{TOKEN_SECONDS}s").strip()

    def server(self, ca_path: Path) -> str:
        """The API server URL; its CA bundle written to ca_path."""
        config = json.loads(self.run("config", "view", "--raw", "--minify", "-o", "json"))
        cluster = config["clusters"][0]["cluster"]
        if "certificate-authority-data" in cluster:
            import base64

            ca_path.write_bytes(base64.b64decode(cluster["certificate-authority-data"]))
        else:
            ca = Path(cluster["certificate-authority"])
            ca_path.write_bytes((ca if ca.is_absolute() else self.kubeconfig.parent / ca).read_bytes())
        return str(cluster["server"])


def stack_settings(stack: str, alerts_override: Mapping[str, Any]) -> tuple[Any, Any]:
    """(AlertsConfig, NodeAgentConfig) of the stack, with alert keys overridden (tests: short `for:`)."""
    from gpu_node_pools.config.alerts import AlertsConfig
    from gpu_node_pools.config.stack_files import load_stack

    config = load_stack(stack, ROOT)
    alerts = AlertsConfig.model_validate({**config.alerts.model_dump(by_alias=True), **alerts_override})
    return alerts, config.node_agent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, required=True, help="working folder (tokens, configs, logs, state)")
    parser.add_argument("--kubectl", required=True)
    parser.add_argument("--kubeconfig", type=Path, required=True)
    parser.add_argument("--prometheus", required=True, help="the prometheus binary")
    parser.add_argument("--stack", default="local")
    parser.add_argument("--alerts-override", default="{}", help="JSON merged over the stack's alerts key")
    parser.add_argument("--scenario", action="append", default=[], metavar="NODE=FILE")
    parser.add_argument("--agent-base-port", type=int, default=9500)
    parser.add_argument("--prometheus-port", type=int, default=9090)
    parser.add_argument("--interval", type=int, default=5, help="agent read interval, seconds")
    parser.add_argument("--settle-seconds", type=int, default=10)
    parser.add_argument("--min-write-interval", type=int, default=10)
    parser.add_argument("--scrape-interval", default="5s")
    parser.add_argument("--evaluation-interval", default="5s")
    args = parser.parse_args(argv)

    from gpu_node_pools.alerts import rule_file_yaml, scrape_config

    workdir: Path = args.dir
    (workdir / "logs").mkdir(parents=True, exist_ok=True)
    alerts, agent_config = stack_settings(args.stack, json.loads(args.alerts_override))
    kube = Kube(args.kubectl, args.kubeconfig)
    server = kube.server(workdir / "ca.crt")
    overrides = {node: Path(path).resolve() for node, path in (s.split("=", 1) for s in args.scenario)}
    defaults = [ROOT / "node-agent" / "examples" / s for s in SCENARIOS]
    plans = plan_agents(kube.agent_pods(agent_config.namespace), args.agent_base_port, overrides, defaults)
    if not plans:
        log(f"no running {AGENT_NAME} pod in namespace {agent_config.namespace}: is the stack deployed?")
        return 1

    agent_bin = str(Path(sys.executable).parent / "gpu-node-agent")
    # As the DaemonSet's env sets it: the node repair condition, unless nodeAgent.nodeRepair is off.
    repair = ["--repair-condition", agent_config.node_repair.agent_flag] if agent_config.node_repair.enabled else []
    repair += ["--repair-taint"] if repair and agent_config.node_repair.taint else []

    from gpu_node_agent.podfile import answer_json
    from gpu_node_agent.simulated import load_simulation

    simulated: dict[str, Any] = {}  # node -> its GPUs (GpuSnapshots), as its agent's scenario describes them
    held: dict[str, dict[PodKey, list[Any]]] = {}  # node -> pod -> its allocations

    def agent_child(plan: AgentPlan) -> Child:
        token = workdir / f"token-{plan.node}"
        token.write_text(kube.token(agent_config.namespace, plan.pod))
        scenario = workdir / f"scenario-{plan.node}.yaml"
        scenario.write_text(yaml.safe_dump(node_scenario(yaml.safe_load(plan.scenario.read_text()), plan.node)))
        simulated[plan.node] = load_simulation(scenario).base.gpus
        pod_file = workdir / f"pods-{plan.node}.json"
        argv = [agent_bin, "run", "--gpu-source", f"simulated:{scenario}", "--node-name", plan.node,
                "--namespace", agent_config.namespace, "--prefix", agent_config.prefix,
                "--api-server", server, "--token-file", str(token), "--ca-file", str(workdir / "ca.crt"),
                "--address", "127.0.0.1", "--port", str(plan.port), "--interval", str(args.interval),
                "--settle-seconds", str(args.settle_seconds), "--min-write-interval", str(args.min_write_interval),
                "--pod-resources-file", str(pod_file), *repair]
        return Child(f"agent {plan.node}", argv, workdir / "logs" / f"agent-{plan.node}.log",
                     extra={"node": plan.node, "pod": plan.pod, "port": plan.port, "token": token,
                            "scenario": plan.scenario.name, "podResourcesFile": str(pod_file)})

    def attribute(pods: list[dict[str, Any]], nodes: list[dict[str, Any]]) -> None:
        """Each agent's node: its GPU pods' devices, written where its agent reads them."""
        allocatable = {n["metadata"]["name"]: int((n.get("status", {}).get("allocatable") or {}).get(GPU_RESOURCE, 0))
                       for n in nodes}
        on_node = bound_pods(pods)
        for node in set(held) - set(agents):  # its agent stopped: the node went
            del held[node], simulated[node]
        for node, child in agents.items():
            devices = node_devices(simulated[node], allocatable.get(node, 0))
            held[node] = allocate(held.get(node, {}), on_node.get(node, []), devices)
            answer = answer_json(a for allocations in held[node].values() for a in allocations)
            write_json(Path(child.extra["podResourcesFile"]), answer)

    agents = {plan.node: agent_child(plan) for plan in plans}
    prometheus_url = f"http://127.0.0.1:{args.prometheus_port}"

    def write_prometheus_config() -> None:
        targets = {f"127.0.0.1:{c.extra['port']}": node for node, c in sorted(agents.items())}
        job = scrape_config(agent_config, targets=targets, interval=args.scrape_interval)
        config = prometheus_config(job, args.prometheus_port, args.scrape_interval, args.evaluation_interval)
        (workdir / "prometheus.yml").write_text(yaml.safe_dump(config, sort_keys=False))

    (workdir / "rules.yaml").write_text(rule_file_yaml(alerts))
    write_prometheus_config()
    attribute(*kube.pods_and_nodes())
    prometheus = Child("prometheus", [
        args.prometheus, f"--config.file={workdir / 'prometheus.yml'}", f"--storage.tsdb.path={workdir / 'tsdb'}",
        "--storage.tsdb.retention.time=6h", f"--web.listen-address=127.0.0.1:{args.prometheus_port}",
        "--web.enable-lifecycle",
    ], workdir / "logs" / "prometheus.log", extra={"url": prometheus_url})

    def follow_nodes() -> None:
        """Starts an agent for each GPU node that came, stops the agent of each that went; then Prometheus
        scrapes the new set."""
        # One list of pods and nodes per round: the agent pods and the GPU pods to attribute both come from it.
        try:
            pods, nodes = kube.pods_and_nodes()
        except (RuntimeError, subprocess.TimeoutExpired) as error:  # API server away (outage drills): try later
            log(f"listing pods failed, keeping the agents and the pod attribution as they are: {error}")
            return
        ports = {node: int(c.extra["port"]) for node, c in agents.items()}
        start, stop_nodes = reconcile(ports, running_agent_pods(pods, agent_config.namespace), args.agent_base_port,
                                      overrides, defaults)
        for node in stop_nodes:
            log(f"node {node} has no agent pod any more: stopping its agent")
            agents.pop(node).stop()
        for plan in start:
            try:
                agents[plan.node] = agent_child(plan)
            except RuntimeError as error:  # the pod went again before its token was issued
                log(f"no token for the agent pod {plan.pod} on {plan.node}: {error}")
                continue
            log(f"new GPU node {plan.node}: starting its agent on :{plan.port}")
        attribute(pods, nodes)
        if start or stop_nodes:
            write_prometheus_config()
            try:
                urllib.request.urlopen(urllib.request.Request(f"{prometheus_url}/-/reload", method="POST"), timeout=5)
            except OSError as error:  # not up yet: it reads the new file when it starts
                log(f"Prometheus reload failed ({error}); it reads prometheus.yml when it starts")

    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log(f"{len(plans)} agents ({', '.join(p.node for p in plans)}) and Prometheus on :{args.prometheus_port}")
    renewed = followed = time.monotonic()
    try:
        while not stopping and workdir.is_dir():
            now = time.monotonic()
            if now - renewed > TOKEN_RENEW_SECONDS:
                for child in agents.values():
                    try:
                        child.extra["token"].write_text(kube.token(agent_config.namespace, child.extra["pod"]))
                    except RuntimeError as error:
                        log(f"token renewal for {child.name} failed: {error}")
                renewed = now
            if now - followed > RECONCILE_SECONDS:
                follow_nodes()
                followed = now
            for child in [*agents.values(), prometheus]:
                child.poll(now)
            write_state(workdir / "state.json", list(agents.values()), prometheus)
            time.sleep(POLL_SECONDS)
    finally:
        for child in [*agents.values(), prometheus]:
            child.stop()
    log("stopped")
    return 0


def write_state(path: Path, agents: Sequence[Child], prometheus: Child) -> None:
    def entry(child: Child) -> dict[str, Any]:
        pid = child.proc.pid if child.proc is not None and child.proc.poll() is None else None
        public = {k: v for k, v in child.extra.items() if k != "token"}
        return {"pid": pid, "running": pid is not None, "restarts": child.restarts, **public}

    state = {
        "updated": time.time(),
        "agents": {c.extra["node"]: entry(c) for c in agents},
        "prometheus": entry(prometheus),
    }
    write_json(path, state)


if __name__ == "__main__":
    sys.exit(main())
