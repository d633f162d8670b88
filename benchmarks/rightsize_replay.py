"""One day of GPU workload mixes through the real kube-scheduler and Karpenter on kwok: whole GPUs against the
rightsize report's recommendations applied as pool sharing config.

    .venv/bin/python benchmarks/rightsize_replay.py                 # every mix, one day each at --compress 240
    .venv/bin/python benchmarks/rightsize_replay.py --quick         # smoke run: a quarter of each mix at 1440x
    .venv/bin/python benchmarks/rightsize_replay.py --mix mixed --compress 120

Per mix (rightsize_mixes.py: inference-heavy, training-heavy, mixed, big-gpu-inference; seeded), the report's own
`recommend` is run over each workload's synthetic usage; then two runs replay the same day side by side on one
cluster of this script's own, each on its own elastic pools (NodePools built by the project's config models and
manifests): `whole`, every pod asking for whole GPUs on a whole-GPU pool of its family; `rightsized`, the
recommendations applied (time-sliced pools whose pods ask for `nvidia.com/gpu` shares, MIG pools (`single`,
all-<profile>) whose pods ask for one MIG device as `nvidia.com/gpu`, a smaller GPU's pool, released notebooks
holding a GPU only while busy). Reported per run: GPU-hours and dollars of the day (the instance table's on-demand
prices; nodes counted as in elastic_gpu.py: trace time, plus Karpenter's real delays unscaled), nodes Karpenter
launched, pod start delay in real seconds (created -> Running; target: all within 120 s), and pods placed over their
memory slice: a pod's peak memory per GPU must fit the share of the GPU its node's pool promises, the GPU's memory
divided by the pool's time-slicing replicas, or on a MIG pool its profile's memory from the MIG table (the
recommender's rules, exactly; time-slicing itself enforces nothing, MIG does). The pool's nodes still run at the
day's end count until then.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import yaml
from kwok_replay import NODEPOOL_LABEL, Cluster, PodSpan, Replay, node_hours, replay

import rightsize_mixes as mixes
from gpu_node_pools.config.platform import PlatformConfig
from gpu_node_pools.config.stack_files import CONFIG_NAMESPACE
from gpu_node_pools.rightsize.recommend import Recommendation

CLUSTER = "gnp-rightsize"
STACK = "rightsize-replay"
CONSOLIDATE_TRACE_MIN = 10.0  # the GPU pools' default consolidateAfter, in trace time
START_TARGET_S = 120.0


def write_project(config: dict[str, object]) -> Path:
    """A project folder whose one stack holds `config`: scripts/cluster.sh makes the stack's managed pools its
    simulated nodes and offers the local Karpenter the shared elastic pools' instance-type copies."""
    project = Path(tempfile.mkdtemp(prefix="gnp-rightsize-project-"))
    (project / "Pulumi.yaml").write_text("name: gnp-rightsize-replay\nruntime: python\nstackConfigDir: stacks\n")
    (project / "stacks").mkdir()
    values = {f"{CONFIG_NAMESPACE}:{key}": value for key, value in config.items()}
    (project / "stacks" / f"Pulumi.{STACK}.yaml").write_text(yaml.safe_dump({"config": values}, sort_keys=False))
    return project


@dataclass(frozen=True)
class RunResult:
    run: str
    pods: int
    held_gpu_hours: float  # what the pods held: GPUs x hours, a share as 1/(shares per GPU) of a GPU
    nodes: int
    gpu_hours: float
    usd: float
    delays: list[float]
    never_started: int
    over_slice: list[str]
    checked: int
    types: str  # the instance types Karpenter launched, with counts


def measure(run: str, pods: list[mixes.Pod], seen: Replay, config: PlatformConfig, compress: float,
            consolidate_real_s: float) -> RunResult:
    pools = {p.pool for p in pods}
    nodes = [n for n in seen.nodes.values() if n.pool in pools]
    gpu_h, usd = node_hours(nodes, compress, consolidate_real_s, seen.end)
    by_name = {p.name: p for p in config.node_pools}
    held = sum(p.requests[mixes.GPU] * p.minutes / 60 / mixes.shares_per_gpu(by_name[p.pool]) for p in pods)
    over, checked = [], 0
    for pod in pods:
        node = seen.nodes.get(seen.placed.get(pod.name, ""))
        if node is None:
            continue
        slice_mib = mixes.slice_memory_mib(node.instance_type.name, by_name[node.labels[NODEPOOL_LABEL]].sharing)
        checked += 1
        if pod.memory_peak_gib * 1024 > slice_mib or node.pool != pod.pool:
            over.append(f"{pod.name} ({pod.memory_peak_gib:.1f} GiB on {node.pool}: {slice_mib / 1024:.1f} GiB)")
    return RunResult(run, len(pods), held, len(nodes), gpu_h, usd, seen.delays(p.name for p in pods),
                     sum(p.name not in seen.started for p in pods), over, checked,
                     ", ".join(f"{n} x {t}" for t, n in sorted(Counter(n.instance_type.name for n in nodes).items())))


def run_mix(cluster: Cluster, config: PlatformConfig, mix: mixes.Mix, advice: dict[str, Recommendation],
            whole: list[mixes.Pod], rs: list[mixes.Pod], compress: float, consolidate_real_s: float
            ) -> list[RunResult]:
    """Both runs of one mix side by side, each on its own pools; the pools are deleted afterwards."""
    actions = Counter(f"{a.action} {a.target}".strip() for a in advice.values())
    print(f"\n{mix.name}: {len(mix.workloads)} workloads; recommendations: "
          + ", ".join(f"{n} x {what}" for what, n in sorted(actions.items(), key=lambda kv: -kv[1])), flush=True)
    pools = [p for p in config.node_pools if p.name.startswith(f"{mix.name}-")]
    print("  pools: " + ", ".join(f"{p.name} ({p.sharing.describe() if p.sharing else 'whole GPUs'})" for p in pools),
          flush=True)
    for pool in pools:
        cluster.apply_node_pool(pool, config.contract)
    spans = [PodSpan(p.name, p.start_min, p.minutes, p.requests, p.pool) for p in whole + rs]
    seen = replay(cluster, spans, compress, [p.name for p in pools], run_from_start=True, drain_s=0)
    for pool in pools:
        cluster.delete_node_pool(pool.name)
    runs = [measure("whole GPUs", whole, seen, config, compress, consolidate_real_s),
            measure("rightsized", rs, seen, config, compress, consolidate_real_s)]
    for r in runs:
        print(f"  {r.run}: {r.gpu_hours:.1f} GPU-hours, ${r.usd:.2f}; nodes: {r.types or 'none'}", flush=True)
    if seen.gone:  # their nodes' time still counts; the pods just ran shorter than the trace
        print(f"  gone before their end (deleted by the cluster): {sorted(seen.gone)}", flush=True)
    return runs


def _pct(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def report(results: list[tuple[str, list[RunResult]]]) -> bool:
    """Prints the table and the headline figures; whether the targets are met."""
    print(f"\n{'mix':<19}{'run':<12}{'pods':>5}{'held GPU-h':>11}{'nodes':>6}{'GPU-h':>8}{'USD':>9}"
          f"{'GPU-h vs whole':>15}{'USD vs whole':>13}{'start p50 s':>12}{'max s':>7}{'not run':>8}{'over slice':>11}")
    ok = True
    for name, (whole, rs) in results:
        for r in (whole, rs):
            print(f"{name:<19}{r.run:<12}{r.pods:>5}{r.held_gpu_hours:>11.1f}{r.nodes:>6}{r.gpu_hours:>8.1f}"
                  f"{r.usd:>9.2f}{r.gpu_hours / whole.gpu_hours:>15.2f}{r.usd / whole.usd:>13.2f}"
                  f"{_pct(r.delays, 0.5):>12.1f}{_pct(r.delays, 1.0):>7.1f}{r.never_started:>8}"
                  f"{f'{len(r.over_slice)}/{r.checked}':>11}")
            for line in r.over_slice[:5]:
                print(f"    over its slice: {line}")
            ok &= not r.never_started and not r.over_slice and bool(r.delays) and r.delays[-1] <= START_TARGET_S
    print()
    for name, (whole, rs) in results:
        print(f"{name}: {whole.gpu_hours / rs.gpu_hours:.2f}x fewer GPU-hours, {whole.usd / rs.usd:.2f}x fewer dollars "
              f"with the recommendations applied")
    inference = [whole.gpu_hours / rs.gpu_hours for name, (whole, rs) in results if name == "inference-heavy"]
    if inference:
        ok &= inference[0] >= 2
    print(f"target (inference-heavy >= 2x fewer GPU-hours, every pod started within {START_TARGET_S:.0f} s, none over "
          f"its memory slice): {'met' if ok else 'NOT met'}")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mix", action="append", choices=list(mixes.MIXES), help="mix to run (default: all)")
    parser.add_argument("--compress", type=float, default=None, help="trace seconds per real second (default 240)")
    parser.add_argument("--quick", action="store_true", help="smoke run: a quarter of each mix at 1440x")
    args = parser.parse_args()
    compress = args.compress or (1440.0 if args.quick else 240.0)
    scale = 0.25 if args.quick else 1.0
    consolidate_real_s = max(1, round(CONSOLIDATE_TRACE_MIN * 60 / compress))

    plans = []
    for name in args.mix or list(mixes.MIXES):
        mix = mixes.build_mix(name, scale)
        advice = mixes.advise(mix)
        plans.append((mix, advice, mixes.whole_pods(mix), mixes.rightsized_pods(mix, advice)))
    every_pod = [p for _, _, whole, rs in plans for p in whole + rs]
    values = mixes.pool_config(every_pod, f"{consolidate_real_s}s")
    config = mixes.platform(every_pod, f"{consolidate_real_s}s")
    print(f"each mix: one day at {compress:g}x ({24 * 3600 / compress / 60:.1f} min real), its two runs side by side; "
          f"consolidateAfter {CONSOLIDATE_TRACE_MIN:.0f} min of trace = {consolidate_real_s}s real", flush=True)

    results = []
    project = write_project(values)
    try:
        with Cluster(CLUSTER, project, STACK) as cluster:
            for mix, advice, whole, rs in plans:
                results.append((mix.name, run_mix(cluster, config, mix, advice, whole, rs, compress,
                                                  consolidate_real_s)))
    finally:
        shutil.rmtree(project)

    sys.exit(0 if report(results) else 1)


if __name__ == "__main__":
    main()
