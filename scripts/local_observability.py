"""Live GPU observability on the local cluster: a real `gpu-node-agent` per simulated GPU node, and a real
Prometheus scraping them with the stack's scrape config and evaluating the stack's alert rules.

Each agent is a host process for one node: it replays that node's simulated GPU scenario and authenticates with a
TokenRequest token bound to the agent DaemonSet's (kwok-simulated) pod on that node, so the API server puts the
node's name in the token and the admission policy checks every label write exactly as on a real node. The
supervisor restarts whatever dies (backoff 1 s doubling to 30 s): one crashing agent never touches the others,
and Prometheus keeps scraping the rest. Tokens are renewed every TOKEN_RENEW_SECONDS (the agent re-reads its token
file on 401). State goes to <dir>/state.json: {"agents": {node: {pid, port, restarts}}, "prometheus": {...}}.

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
    by_node = {p["spec"]["nodeName"]: p["metadata"]["name"] for p in pods if p.get("spec", {}).get("nodeName")}
    return [
        AgentPlan(node, by_node[node], base_port + i, scenarios.get(node, default_scenarios[i % len(default_scenarios)]))
        for i, node in enumerate(sorted(by_node))
    ]


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
        return [p for p in pods if p.get("status", {}).get("phase") == "Running"]

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
    plans = plan_agents(kube.agent_pods(agent_config.namespace), args.agent_base_port, overrides,
                        [ROOT / "node-agent" / "examples" / s for s in SCENARIOS])
    if not plans:
        log(f"no running {AGENT_NAME} pod in namespace {agent_config.namespace}: is the stack deployed?")
        return 1

    agent_bin = str(Path(sys.executable).parent / "gpu-node-agent")
    children: list[Child] = []
    for plan in plans:
        token = workdir / f"token-{plan.node}"
        token.write_text(kube.token(agent_config.namespace, plan.pod))
        argv = [agent_bin, "run", "--gpu-source", f"simulated:{plan.scenario}", "--node-name", plan.node,
                "--namespace", agent_config.namespace, "--prefix", agent_config.prefix,
                "--api-server", server, "--token-file", str(token), "--ca-file", str(workdir / "ca.crt"),
                "--address", "127.0.0.1", "--port", str(plan.port), "--interval", str(args.interval),
                "--settle-seconds", str(args.settle_seconds), "--min-write-interval", str(args.min_write_interval)]
        children.append(Child(f"agent {plan.node}", argv, workdir / "logs" / f"agent-{plan.node}.log",
                              extra={"node": plan.node, "pod": plan.pod, "port": plan.port, "token": token}))

    targets = {f"127.0.0.1:{p.port}": p.node for p in plans}
    job = scrape_config(agent_config, targets=targets, interval=args.scrape_interval)
    (workdir / "rules.yaml").write_text(rule_file_yaml(alerts))
    (workdir / "prometheus.yml").write_text(yaml.safe_dump(
        prometheus_config(job, args.prometheus_port, args.scrape_interval, args.evaluation_interval), sort_keys=False))
    children.append(Child("prometheus", [
        args.prometheus, f"--config.file={workdir / 'prometheus.yml'}", f"--storage.tsdb.path={workdir / 'tsdb'}",
        "--storage.tsdb.retention.time=6h", f"--web.listen-address=127.0.0.1:{args.prometheus_port}",
        "--web.enable-lifecycle",
    ], workdir / "logs" / "prometheus.log", extra={"url": f"http://127.0.0.1:{args.prometheus_port}"}))

    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log(f"{len(plans)} agents ({', '.join(p.node for p in plans)}) and Prometheus on :{args.prometheus_port}")
    renewed = time.monotonic()
    try:
        while not stopping and workdir.is_dir():
            now = time.monotonic()
            if now - renewed > TOKEN_RENEW_SECONDS:
                for child in children:
                    if "token" in child.extra:
                        try:
                            child.extra["token"].write_text(kube.token(agent_config.namespace, child.extra["pod"]))
                        except RuntimeError as error:
                            log(f"token renewal for {child.name} failed: {error}")
                renewed = now
            for child in children:
                child.poll(now)
            write_state(workdir / "state.json", children)
            time.sleep(POLL_SECONDS)
    finally:
        for child in children:
            child.stop()
    log("stopped")
    return 0


def write_state(path: Path, children: Sequence[Child]) -> None:
    def entry(child: Child) -> dict[str, Any]:
        pid = child.proc.pid if child.proc is not None and child.proc.poll() is None else None
        public = {k: v for k, v in child.extra.items() if k != "token"}
        return {"pid": pid, "running": pid is not None, "restarts": child.restarts, **public}

    state = {
        "updated": time.time(),
        "agents": {c.extra["node"]: entry(c) for c in children if "node" in c.extra},
        "prometheus": next(entry(c) for c in children if c.name == "prometheus"),
    }
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=1))
    os.replace(tmp, path)


if __name__ == "__main__":
    sys.exit(main())
