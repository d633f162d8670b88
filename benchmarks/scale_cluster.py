"""Scale benchmark: 1,000 simulated nodes, the local layer, 5,000 mixed pods, on the real control plane.

Starts its own cluster (`scripts/cluster.sh` with a separate name and state folder, so a developer's local cluster
is untouched), creates GPU and general nodes cloned from the local stack's simulated nodes, server-side applies the
local layer, submits the pods and reports:
  - isolation violations: pods without the GPU toleration on a GPU node (must be 0);
  - time until every pod that fits is scheduled;
  - pods of each GPU DaemonSet against the GPU node count;
  - kube-apiserver resident memory (from /proc) after the run.

    .venv/bin/python benchmarks/scale_cluster.py [--gpu-nodes 100] [--general-nodes 900] [--pods 5000] [--keep]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import shutil
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from kwok_replay import run  # benchmarks/ is on sys.path when run as a script

ROOT = Path(__file__).resolve().parents[1]
GPU_PRESENT = "nvidia.com/gpu.present"
GPU = "nvidia.com/gpu"
IMAGE = "registry.k8s.io/pause:3.10"
CLUSTER = "gnp-scale"


def yaml_from(module: str, *args: str) -> list[dict[str, Any]]:
    """The YAML documents `python -m <module> <args>` prints (gpu_node_pools.cli, or .script_commands)."""
    out = run(sys.executable, "-m", module, *args)
    return [d for d in yaml.safe_load_all(out) if d]


def clone_nodes(templates: list[dict[str, Any]], gpu_nodes: int, general_nodes: int) -> list[dict[str, Any]]:
    """`gpu_nodes` + `general_nodes` Nodes, each a copy of the local stack's first node of that kind, renamed."""
    gpu = next(n for n in templates if n["metadata"]["labels"].get(GPU_PRESENT) == "true")
    general = next(n for n in templates if GPU_PRESENT not in n["metadata"]["labels"])
    nodes = []
    for template, count, prefix in ((gpu, gpu_nodes, "gpu"), (general, general_nodes, "general")):
        for i in range(count):
            node = copy.deepcopy(template)
            name = f"scale-{prefix}-{i:04d}"
            node["metadata"]["name"] = name
            node["metadata"]["labels"]["kubernetes.io/hostname"] = name
            nodes.append(node)
    return nodes


def workload(name: str, replicas: int, gpu_taints: list[dict[str, Any]] | None) -> dict[str, Any]:
    """A Deployment of pause pods; with `gpu_taints`, it tolerates them and asks for one GPU per pod."""
    resources: dict[str, Any] = {"requests": {"cpu": "50m", "memory": "32Mi"}, "limits": {"memory": "32Mi"}}
    spec: dict[str, Any] = {"containers": [{"name": "main", "image": IMAGE, "resources": resources}],
                            "terminationGracePeriodSeconds": 0}
    if gpu_taints is not None:
        resources["requests"][GPU] = resources["limits"][GPU] = "1"
        spec["tolerations"] = [{"key": t["key"], "operator": "Exists", "effect": t["effect"]} for t in gpu_taints]
    labels = {"app": name, "gnp-scale": "1"}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "scale"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": spec}}}


def scheduling_wait_s(pod: dict[str, Any]) -> float:
    created = datetime.fromisoformat(pod["metadata"]["creationTimestamp"])
    bound = next(c for c in pod["status"]["conditions"] if c["type"] == "PodScheduled")["lastTransitionTime"]
    return (datetime.fromisoformat(bound) - created).total_seconds()


def apiserver_rss_mib(workdir: Path) -> float | None:
    """Resident memory of this cluster's kube-apiserver, found by the pid file kwokctl keeps."""
    for pidfile in workdir.rglob("kube-apiserver.pid"):
        status = Path(f"/proc/{pidfile.read_text().strip()}/status")
        if status.exists():
            rss_kib = next(int(line.split()[1]) for line in status.read_text().splitlines() if line.startswith("VmRSS"))
            return rss_kib / 1024
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gpu-nodes", type=int, default=100)
    parser.add_argument("--general-nodes", type=int, default=900)
    parser.add_argument("--pods", type=int, default=5000)
    parser.add_argument("--timeout", type=float, default=900, help="seconds to wait for scheduling")
    parser.add_argument("--keep", action="store_true", help="leave the cluster running at the end")
    args = parser.parse_args()

    state = Path(tempfile.mkdtemp(prefix="gnp-scale-"))
    env = {**os.environ, "GNP_STATE": str(state), "GNP_CLUSTER_NAME": CLUSTER}
    kubeconfig = str(state / "kubeconfig")

    exports = run(str(ROOT / "tools" / "controlplane" / "build.sh"))
    kubectl_bin = next(line.split("=", 1)[1] for line in exports.splitlines() if line.startswith("export GNP_KUBECTL="))

    def kubectl(*a: str, input: str | None = None) -> str:
        return run(kubectl_bin, "--kubeconfig", kubeconfig, *a, input=input)

    templates = yaml_from("gpu_node_pools.script_commands", "simulated-nodes", "--stack", "local")
    nodes = clone_nodes(templates, args.gpu_nodes, args.general_nodes)
    nodes_file = state / "nodes.yaml"
    nodes_file.write_text(yaml.safe_dump_all(nodes))
    result: dict[str, Any] = {"gpu_nodes": args.gpu_nodes, "general_nodes": args.general_nodes, "pods": args.pods}
    start = time.monotonic()
    run(str(ROOT / "scripts" / "cluster.sh"), "up", env={**env, "GNP_NODES_FILE": str(nodes_file)})
    result["cluster_up_s"] = round(time.monotonic() - start, 1)
    try:
        start = time.monotonic()
        layer = yaml_from("gpu_node_pools.cli", "render", "--stack", "local")
        kubectl("apply", "--server-side", "--field-manager=gnp-layer", "-f", "-", input=yaml.safe_dump_all(layer))
        daemonsets = [(d["metadata"]["namespace"], d["metadata"]["name"]) for d in layer if d["kind"] == "DaemonSet"]
        result["layer_apply_s"] = round(time.monotonic() - start, 1)

        # One GPU pod per GPU of the pool, the rest general.
        gpus = sum(int(n["status"]["allocatable"].get(GPU, "0")) for n in nodes)
        gpu_pods = min(gpus, args.pods)
        gpu_taints = next(n for n in nodes if n["metadata"]["labels"].get(GPU_PRESENT) == "true")["spec"]["taints"]
        kubectl("create", "namespace", "scale")
        start = time.monotonic()
        manifest = [workload("general", args.pods - gpu_pods, None), workload("gpu", gpu_pods, gpu_taints)]
        kubectl("apply", "--server-side", "-f", "-", input=yaml.safe_dump_all(manifest))
        while True:
            pods = json.loads(kubectl("get", "pods", "-n", "scale", "-o", "json"))["items"]
            scheduled = [p for p in pods if p["spec"].get("nodeName")]
            if len(scheduled) >= args.pods:
                break
            if time.monotonic() - start > args.timeout:
                break
            time.sleep(2)
        result["pods_scheduled"] = len(scheduled)
        result["time_to_schedule_s"] = round(time.monotonic() - start, 1)
        # Per pod, creation to binding (the scheduler's share; the total above also holds the ReplicaSet
        # controller creating pods at its default client QPS). Timestamps have one-second resolution.
        waits = sorted(scheduling_wait_s(p) for p in scheduled)
        result["pod_create_to_bind_s"] = {"p50": waits[len(waits) // 2], "p99": waits[len(waits) * 99 // 100],
                                          "max": waits[-1]} if waits else None

        gpu_node_names = {n["metadata"]["name"] for n in nodes if n["metadata"]["labels"].get(GPU_PRESENT) == "true"}
        # A general pod on a GPU node, or a GPU pod anywhere else.
        result["isolation_violations"] = sum(
            1 for p in scheduled
            if (p["metadata"]["labels"]["app"] == "gpu") != (p["spec"]["nodeName"] in gpu_node_names)
        )
        result["daemonset_pods"] = {}
        for namespace, name in daemonsets:
            ds = json.loads(kubectl("get", "daemonset", "-n", namespace, name, "-o", "json"))["status"]
            result["daemonset_pods"][name] = {k: ds.get(k, 0) for k in
                                              ("desiredNumberScheduled", "currentNumberScheduled", "numberReady")}
        result["gpu_node_count"] = len(gpu_node_names)
        rss = apiserver_rss_mib(state / "kwok")
        result["apiserver_rss_mib"] = round(rss) if rss else None
    finally:
        if not args.keep:
            run(str(ROOT / "scripts" / "cluster.sh"), "down", env=env)
            shutil.rmtree(state)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
