"""CPU time per collection cycle with 8 simulated GPUs (and with 7 MIG devices on each), and steady RSS of
`gpu-node-agent run`.

1. In process: the agent's real cycle (the NVML adapter over the fake pynvml reading 8 GPUs with ECC, row
   remapping, clock reasons and, on the MIG node, 56 MIG devices; the window, label sources, churn policy) and one
   Prometheus scrape of the result, timed with process CPU time over many cycles. Targets: <= 2 ms per cycle.
2. As the DaemonSet runs it: `gpu-node-agent run` as a child process with a 1 s interval, scraped every
   second; RSS from /proc after a warm-up, in two modes: `--dry-run`, and writing labels and Leases to a
   (fake, local HTTP) API server, so the Kubernetes client's memory is in the figure; each also with `--pod-resources`
   against a real gRPC server on a unix socket serving the kubelet's pod-resources proto with one pod per GPU
   (or per MIG device), so the client's memory (h2 and protobuf: `gpu_node_agent/grpc_unary.py`) and the per-cycle
   `List` call are in the figures.

No GPU here: NVML's own cost is not in these numbers (see benchmarks/RESULTS.md).
Run: .venv/bin/python benchmarks/agent_cycle.py [--rss-only]
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest

from gpu_node_agent.config import DEFAULT_PREFIX
from gpu_node_agent.metrics import AgentCollector
from gpu_node_agent.policy import PublishPolicy
from gpu_node_agent.runner import Agent
from gpu_node_agent.simulated import SimulatedReader
from gpu_node_agent.sources import label_sources, live_keys
from gpu_node_agent.state import AgentView

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = {
    "8 GPUs": ROOT / "node-agent" / "examples" / "8x-h100.yaml",
    "8 GPUs x 7 MIG devices": ROOT / "node-agent" / "examples" / "8x-h100-mig.yaml",
}
CYCLES = 2000
CYCLE_TARGET_US = 2000
WARMUP_SECONDS = 20
SAMPLES = 10
RSS_TARGET_MIB = 40  # the plain agent
RSS_TARGET_POD_RESOURCES_MIB = 45  # with --pod-resources


def cpu_per_cycle(example: Path, pods_socket: Path | None = None) -> tuple[float, float]:
    """Microseconds of CPU per cycle, and per scrape; with `pods_socket`, each cycle also asks the kubelet."""
    reader = SimulatedReader(example)
    reader.open()
    client = None
    if pods_socket is not None:
        from gpu_node_agent.podresources import PodResourcesClient

        client = PodResourcesClient(str(pods_socket))
    agent = Agent(
        reader=reader,
        sources=label_sources(gfd=False),
        prefix=DEFAULT_PREFIX,
        policy=PublishPolicy(live_keys=live_keys(DEFAULT_PREFIX)),
        view=AgentView(node="bench"),
        pods=client.lookup if client is not None else None,
    )
    registry = CollectorRegistry()
    registry.register(AgentCollector(lambda: agent.view))
    logging.disable(logging.INFO)  # the dry-run log line of the first cycle is not what we time
    start = time.process_time()
    for _ in range(CYCLES):
        agent.cycle()
    cycle = (time.process_time() - start) / CYCLES
    start = time.process_time()
    for _ in range(CYCLES):
        generate_latest(registry)
    scrape = (time.process_time() - start) / CYCLES
    reader.close()
    if client is not None:
        assert agent.view.pod_resources_ok, agent.view.pod_resources_errors
        client.close()
    return cycle * 1e6, scrape * 1e6


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def steady_rss(example: Path, extra_args: list[str]) -> tuple[float, float]:
    """(steady RSS MiB, CPU seconds per wall second) of `gpu-node-agent run` with a 1 s interval."""
    args = [
        sys.executable,
        "-m",
        "gpu_node_agent.cli",
        "run",
        "--interval",
        "1",
        "--port",
        "0",
        "--address",
        "127.0.0.1",
        "--node-name",
        "bench",
        "--gpu-source",
        f"simulated:{example}",
        *extra_args,
    ]
    proc = subprocess.Popen(args, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        port = next(int(line.rsplit(":", 1)[1]) for line in proc.stderr if "serving /metrics" in line)
        for _ in range(WARMUP_SECONDS):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read()
            time.sleep(1)
        ticks_before = _cpu_ticks(proc.pid)
        samples = []
        for _ in range(SAMPLES):
            text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
            samples.append(rss_mib(proc.pid))
            time.sleep(1)
        if "--pod-resources" in extra_args:
            assert 'pod="job-' in text, "the --pod-resources run served no pod labels"
        cpu = (_cpu_ticks(proc.pid) - ticks_before) / os.sysconf("SC_CLK_TCK")
        return max(samples), cpu / SAMPLES
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def kubelet_pods(example: Path) -> list[tuple[str, str, list[tuple[str, list[tuple[str, list[str]]]]]]]:
    """One pod per GPU, or per MIG device on a MIG node, holding it: every series gets pod labels."""
    reader = SimulatedReader(example)
    reader.open()
    snapshot = reader.read()
    reader.close()
    ids = [m.uuid for g in snapshot.gpus for m in g.mig_devices] or [g.uuid for g in snapshot.gpus]
    return [(f"job-{n}", "ml", [("main", [("nvidia.com/gpu", [device])])]) for n, device in enumerate(ids)]


@contextlib.contextmanager
def kubelet(sock: Path, example: Path) -> Iterator[None]:
    """The fake kubelet (tests/fake_kubelet.py) in a process of its own, so its CPU is not counted as the agent's."""
    code = (
        "import json, sys; from pathlib import Path; from fake_kubelet import FakeKubelet\n"
        "with FakeKubelet(Path(sys.argv[1]), json.loads(sys.argv[2])):\n"
        "    print('ready', flush=True); sys.stdin.read()"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "node-agent" / "tests")}
    pods = json.dumps(kubelet_pods(example))
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(sock), pods], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        yield
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=10)


def main() -> None:
    sys.path.insert(0, str(ROOT / "node-agent" / "tests"))
    from fake_apiserver import FakeApiServer

    sockets = tempfile.mkdtemp(prefix="gna-bench-")
    if "--rss-only" not in sys.argv[1:]:
        cpu_table(sockets)
    rss_table(sockets, FakeApiServer)


def cpu_table(sockets: str) -> None:
    print(f"CPU per cycle ({CYCLES} cycles, in process; the XID event thread idles beside it)")
    print(f"{'node':<26}{'mode':<24}{'cycle: read, labels, policy':>30}{'scrape: /metrics text':>24}{'target':>16}")
    for name, example in EXAMPLES.items():
        sock = Path(sockets) / f"{example.stem}.sock"
        with kubelet(sock, example):
            for mode, pods in (("default", None), ("--pod-resources", sock)):
                cycle_us, scrape_us = cpu_per_cycle(example, pods)
                verdict = "ok" if cycle_us <= CYCLE_TARGET_US else "OVER"
                print(
                    f"{name:<26}{mode:<24}{cycle_us:>27.0f} µs{scrape_us:>21.0f} µs"
                    f"{f'<= {CYCLE_TARGET_US} µs {verdict}':>16}"
                )
    print()


def rss_table(sockets: str, FakeApiServer: type) -> None:  # noqa: N803 (the class, imported from the tests)
    token = ROOT / ".state" / "bench-token"
    token.parent.mkdir(exist_ok=True)
    token.write_text("token-1")
    print(
        f"gpu-node-agent run, 1 s interval, scraped every second; RSS max of {SAMPLES} samples after {WARMUP_SECONDS} s"
    )
    print(f"{'node':<26}{'mode':<38}{'RSS MiB':>10}{'CPU %':>8}{'target':>12}")
    # HTTPS as in a cluster: a self-signed certificate for 127.0.0.1 is the server's and the agent's --ca-file.
    cert, key = Path(sockets) / "api.crt", Path(sockets) / "api.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )
    with FakeApiServer() as api, FakeApiServer(tls=(str(cert), str(key))) as tls_api:
        for server in (api, tls_api):
            server.add_node("bench", {"gpu-node-pools.io/pool": "bench"})
        for name, example in EXAMPLES.items():
            sock = Path(sockets) / f"{example.stem}.sock"
            with kubelet(sock, example):
                writing = ["--api-server", api.url, "--token-file", str(token)]
                pod_resources = ["--pod-resources", "--pod-resources-socket", str(sock)]
                for mode, extra in (
                    ("--dry-run", ["--dry-run"]),
                    ("writing to a local fake API server", writing),
                    (
                        "writing over HTTPS, --ca-file",
                        ["--api-server", tls_api.url, "--token-file", str(token), "--ca-file", str(cert)],
                    ),
                    ("--dry-run --pod-resources", ["--dry-run", *pod_resources]),
                    ("writing, --pod-resources", [*writing, *pod_resources]),
                ):
                    rss, cpu = steady_rss(example, extra)
                    target = RSS_TARGET_POD_RESOURCES_MIB if "--pod-resources" in extra else RSS_TARGET_MIB
                    verdict = "ok" if rss < target else "OVER"
                    print(f"{name:<26}{mode:<38}{rss:>10.1f}{cpu * 100:>8.2f}{f'< {target} {verdict}':>12}")
        patches = len(api.calls("PATCH")) + len(tls_api.calls("PATCH"))
        leases = len(api.leases) + len(tls_api.leases)
    print(
        f"(the writing runs renewed their Lease and labelled the node: {leases} leases, {patches} PATCH requests in all)"
    )


if __name__ == "__main__":
    main()
