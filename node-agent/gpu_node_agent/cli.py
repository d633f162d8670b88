"""`gpu-node-agent readout | run | replay | cluster | selftest`. Short by design: parse, build a config, hand over."""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

from . import __version__
from .cluster import cluster_rows, fetch, render_cluster, rows_json
from .config import (
    DEFAULT_NAMESPACE,
    DEFAULT_PREFIX,
    TUNING,
    ConfigError,
    add_run_arguments,
    run_config,
    validate_prefix,
)
from .daemon import make_reader, serve
from .labels import MIG_STRATEGIES, LabelContext, desired_labels
from .nvml import DRIVER_NOT_LOADED_HINT, NvmlUnavailable
from .readout import readout_json, render_readout
from .replay import render, replay, result_json
from .simulated import SimulationError
from .sources import label_sources

__all__ = ["main"]

EXIT_UNAVAILABLE = 2  # NVML missing, bad configuration or bad simulated file: nothing a retry would fix


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gpu-node-agent", description=__doc__)
    parser.add_argument("--version", action="version", version=__version__)
    commands = parser.add_subparsers(dest="command", required=True)
    readout = commands.add_parser("readout", help="one-shot table of the local GPUs and the labels we would write")
    readout.add_argument("--json", action="store_true", help="JSON instead of a table")
    readout.add_argument(
        "--gpu-source", default=None, help="nvml (default) or simulated:FILE [env GPU_NODE_AGENT_GPU_SOURCE]"
    )
    readout.add_argument(
        "--prefix", default=None, help=f"label prefix (default {DEFAULT_PREFIX}) [env GPU_NODE_AGENT_PREFIX]"
    )
    readout.add_argument("--gfd-labels", action="store_true", default=None, help="also show nvidia.com/gpu.* keys")
    readout.add_argument(
        "--mig-strategy", default=None, help="none (default), single or mixed [env GPU_NODE_AGENT_MIG_STRATEGY]"
    )
    add_run_arguments(commands.add_parser("run", help="the daemon: labels, metrics, heartbeat"))
    replay = commands.add_parser(
        "replay", help="replay a simulated trace on a virtual clock: what the agent would write, and when"
    )
    replay.add_argument("--trace", required=True, help="a simulated GPU file with samples (see node-agent/examples)")
    replay.add_argument("--duration", default=None, help="seconds to replay (default: one pass over the trace)")
    replay.add_argument("--json", action="store_true", help="JSON instead of a list")
    add_run_arguments(replay, only=TUNING)
    selftest = commands.add_parser(
        "selftest", help="on a GPU machine: the agent's readout against nvidia-smi, and a cycle's cost, to a file"
    )
    selftest.add_argument("--out", default="gpu-selftest.json", help="JSON result file (default gpu-selftest.json)")
    selftest.add_argument("--nvidia-smi", default="nvidia-smi", help="the nvidia-smi to compare with (default: PATH)")
    selftest.add_argument("--cycles", type=int, default=5, help="reads and nvidia-smi calls timed (default 5)")
    selftest.add_argument("--gpu-source", default="nvml", help="nvml (default) or simulated:FILE (to try it)")
    cluster = commands.add_parser("cluster", help="the cluster's GPU nodes, their labels and agent heartbeats")
    cluster.add_argument("--kubeconfig", default=None, help="kubeconfig file (default: $KUBECONFIG or ~/.kube/config)")
    cluster.add_argument("--namespace", default=None, help=f"the agent's namespace (default {DEFAULT_NAMESPACE})")
    cluster.add_argument("--prefix", default=None, help=f"the agent's label prefix (default {DEFAULT_PREFIX})")
    cluster.add_argument("--json", action="store_true", help="JSON instead of a table")
    cluster.add_argument(
        "--prometheus", default=None, metavar="URL",
        help="also a per-pool summary (GPUs, in use, idle, memory) and the firing GPU alerts from this Prometheus",
    )
    return parser


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_UNAVAILABLE


def _readout(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    gpu_source = args.gpu_source or env.get("GPU_NODE_AGENT_GPU_SOURCE") or "nvml"
    prefix = args.prefix or env.get("GPU_NODE_AGENT_PREFIX") or DEFAULT_PREFIX
    if problem := validate_prefix(prefix):
        return _fail(f"prefix {prefix!r}: {problem}")
    if gpu_source != "nvml" and not gpu_source.startswith("simulated:"):
        return _fail(f"--gpu-source {gpu_source!r}: expected nvml or simulated:FILE")
    mig_strategy = args.mig_strategy or env.get("GPU_NODE_AGENT_MIG_STRATEGY") or "none"
    if mig_strategy not in MIG_STRATEGIES:
        return _fail(f"--mig-strategy {mig_strategy!r}: expected one of {', '.join(MIG_STRATEGIES)}")
    reader = make_reader(gpu_source, watch_xid=False)
    reader.open()
    try:
        snapshot = reader.read()
    finally:
        reader.close()
    if snapshot.error:
        hint = DRIVER_NOT_LOADED_HINT if snapshot.error == "DriverNotLoaded" else f"NVML error {snapshot.error}"
        return _fail(hint)
    sources = label_sources(gfd=bool(args.gfd_labels), mig_strategy=mig_strategy)
    labels = desired_labels(snapshot, LabelContext(prefix), sources)
    if args.json:
        print(json.dumps(readout_json(snapshot, labels), indent=2))
    else:
        print(render_readout(snapshot, labels))
    return 0


def _run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    config = run_config(args, env)
    logging.basicConfig(level=config.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger(__name__).info("config: %s", asdict(config))
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    serve(config, stop)
    return 0


def _replay(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    args.dry_run, args.node_name = True, "replay"
    config = run_config(args, env)
    duration = None
    if args.duration is not None:
        try:
            duration = float(args.duration)
        except ValueError:
            return _fail(f"--duration={args.duration!r}: not a number of seconds")
        if duration <= 0:
            return _fail(f"--duration={args.duration!r}: must be more than 0")
    result = replay(Path(args.trace), config, duration)
    print(json.dumps(result_json(result), indent=2) if args.json else render(result, config.prefix))
    return 0


def _selftest(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    from .selftest import render, run_selftest, write

    nvidia_smi = shutil.which(args.nvidia_smi)
    if nvidia_smi is None:
        return _fail(f"--nvidia-smi {args.nvidia_smi!r}: not found (on PATH); it comes with the NVIDIA driver")
    if args.cycles < 1:
        return _fail(f"--cycles={args.cycles}: must be at least 1")
    if args.gpu_source != "nvml" and not args.gpu_source.startswith("simulated:"):
        return _fail(f"--gpu-source {args.gpu_source!r}: expected nvml or simulated:FILE")
    reader = make_reader(args.gpu_source, watch_xid=False)
    reader.open()
    try:
        result = run_selftest(reader.read, nvidia_smi, args.cycles)
    except (OSError, RuntimeError, ValueError, subprocess.TimeoutExpired) as error:
        return _fail(f"nvidia-smi: {error}")
    finally:
        reader.close()
    write(result, args.out)
    print(render(result))
    print(f"written to {args.out}")
    return 0 if result.ok else 1


def _cluster(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    prefix = args.prefix or env.get("GPU_NODE_AGENT_PREFIX") or DEFAULT_PREFIX
    namespace = args.namespace or env.get("POD_NAMESPACE") or DEFAULT_NAMESPACE
    nodes, leases = fetch(args.kubeconfig, namespace)
    rows = cluster_rows(nodes, leases, prefix, datetime.now(timezone.utc))
    if not args.prometheus:
        print(json.dumps(rows_json(rows), indent=2) if args.json else render_cluster(rows))
        return 0
    from .prometheus_summary import (
        fetch_prometheus,
        firing_gpu_alerts,
        pool_summary,
        pools_json,
        render_alerts,
        render_pools,
    )

    try:
        data = fetch_prometheus(args.prometheus)
    except (OSError, RuntimeError, ValueError) as error:
        print(f"error: --prometheus {args.prometheus}: {error}", file=sys.stderr)
        return 2
    summary, firing = pool_summary(rows, data), firing_gpu_alerts(data.alerts)
    if args.json:
        print(json.dumps({"nodes": rows_json(rows), **pools_json(summary, firing)}, indent=2))
    else:
        print("\n\n".join((render_cluster(rows), render_pools(summary), render_alerts(firing))))
    return 0


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    args = _parser().parse_args(argv)
    env = os.environ if env is None else env
    command = {"readout": _readout, "run": _run, "replay": _replay, "cluster": _cluster, "selftest": _selftest}[
        args.command
    ]
    try:
        return command(args, env)
    except (NvmlUnavailable, ConfigError, SimulationError) as error:
        return _fail(str(error))


if __name__ == "__main__":
    sys.exit(main())
