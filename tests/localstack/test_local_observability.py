"""scripts/local_observability.py: which agents it plans, the Prometheus config it writes, and its restart rule
(a child that dies is restarted with backoff; the others are left alone). The whole supervisor against a real
cluster and Prometheus runs in tests/integration/test_live_observability.py."""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("local_observability", ROOT / "scripts" / "local_observability.py")
assert _spec and _spec.loader
obs = importlib.util.module_from_spec(_spec)
sys.modules["local_observability"] = obs
_spec.loader.exec_module(obs)


def pod(name: str, node: str | None) -> dict[str, object]:
    return {"metadata": {"name": name}, "spec": {"nodeName": node} if node else {}}


def test_one_agent_per_node_with_alternating_scenarios_and_overrides() -> None:
    pods = [pod("a-2", "gpu-2"), pod("a-1", "gpu-1"), pod("a-x", None), pod("a-3", "gpu-3")]
    plans = obs.plan_agents(pods, 9500, {"gpu-3": Path("/s/pressure.yaml")}, [Path("/s/t.yaml"), Path("/s/s.yaml")])
    assert [(p.node, p.pod, p.port, p.scenario.name) for p in plans] == [
        ("gpu-1", "a-1", 9500, "t.yaml"), ("gpu-2", "a-2", 9501, "s.yaml"), ("gpu-3", "a-3", 9502, "pressure.yaml")]


def test_a_gpu_node_that_comes_gets_an_agent_on_a_free_port_and_one_that_goes_loses_it() -> None:
    defaults = [Path("/s/t.yaml"), Path("/s/s.yaml")]
    running = {"gpu-1": 9500, "gpu-2": 9501}
    # Karpenter launched gpu-0 and gpu-3, and gpu-1 went: its port is free again, gpu-2 keeps its own.
    pods = [pod("a-0", "gpu-0"), pod("a-2", "gpu-2"), pod("a-3", "gpu-3"), pod("a-x", None)]
    start, stop = obs.reconcile(running, pods, 9500, {}, defaults)
    assert [(p.node, p.pod, p.port) for p in start] == [("gpu-0", "a-0", 9502), ("gpu-3", "a-3", 9503)]
    assert stop == ["gpu-1"]
    assert obs.reconcile({"gpu-0": 9502, "gpu-2": 9501, "gpu-3": 9503}, pods, 9500, {}, defaults) == ([], [])


def test_a_node_keeps_its_default_scenario_while_others_come_and_go() -> None:
    defaults = [Path("/s/t.yaml"), Path("/s/s.yaml")]
    first = obs.plan_agents([pod("a-1", "gpu-1"), pod("a-2", "gpu-2")], 9500, {}, defaults)
    start, _ = obs.reconcile({p.node: p.port for p in first}, [pod("a-1", "gpu-1"), pod("a-2", "gpu-2"),
                                                                 pod("a-3", "gpu-3")], 9500, {}, defaults)
    assert [(p.node, p.scenario.name) for p in [*first, *start]] == [
        ("gpu-1", "t.yaml"), ("gpu-2", "s.yaml"), ("gpu-3", "t.yaml")]


def test_prometheus_config_scrapes_the_agent_job_and_itself_with_the_rule_file() -> None:
    job = {"job_name": "gpu-node-agent", "static_configs": [{"targets": ["127.0.0.1:9500"]}]}
    config = obs.prometheus_config(job, 9090, "5s", "2s")
    assert config["rule_files"] == ["rules.yaml"]
    assert config["global"] == {"scrape_interval": "5s", "scrape_timeout": "5s", "evaluation_interval": "2s"}
    assert [j["job_name"] for j in config["scrape_configs"]] == ["gpu-node-agent", "prometheus"]


def test_a_dying_child_is_restarted_with_backoff_and_the_others_are_untouched(tmp_path: Path) -> None:
    crashing = obs.Child("crashing", [sys.executable, "-c", "import sys; sys.exit(3)"], tmp_path / "c.log")
    steady = obs.Child("steady", [sys.executable, "-c", "import time; time.sleep(30)"], tmp_path / "s.log")
    try:
        start = time.monotonic()
        for child in (crashing, steady):
            child.poll(start)
        steady_pid = steady.proc.pid
        crashing.proc.wait(timeout=10)
        crashing.poll(start + 0.1)  # died: restart scheduled after the first backoff, not at once
        assert crashing.restarts == 1 and crashing.proc is None
        crashing.poll(start + 0.1 + obs.BACKOFF_FIRST)
        assert crashing.proc is not None
        crashing.proc.wait(timeout=10)
        crashing.poll(start + 2)
        assert crashing.restarts == 2 and crashing.backoff == obs.BACKOFF_FIRST * 4
        steady.poll(start + 2)
        assert steady.proc.pid == steady_pid and steady.restarts == 0
    finally:
        crashing.stop()
        steady.stop()


# The simulated kubelet: GPU UUIDs per node, devices per resource, allocation in scheduling order.

def gpu_pod(name: str, node: str, scheduled: str, *containers: tuple[str, dict[str, str]], phase: str = "Running",
            namespace: str = "ml") -> dict[str, object]:
    return {
        "metadata": {"name": name, "namespace": namespace, "uid": f"uid-{name}", "creationTimestamp": scheduled},
        "spec": {"nodeName": node, "containers": [{"name": c, "resources": {"limits": limits}}
                                                  for c, limits in containers]},
        "status": {"phase": phase, "conditions": [{"type": "PodScheduled", "lastTransitionTime": scheduled}]},
    }


def test_each_node_gets_gpu_uuids_of_its_own_and_the_agent_reads_them(tmp_path: Path) -> None:
    import yaml

    from gpu_node_agent.simulated import load_simulation

    data = {"gpus": [{"count": 2, "name": "NVIDIA A10G", "memoryTotalMiB": 23028},
                     {"name": "NVIDIA L4", "uuid": "GPU-given"}],
            "samples": [{"t": 0, "utilization": 5}, {"t": 10, "gpus": {2: {"utilization": 50}}}]}
    uuids = {}
    for node in ("gpu-1", "gpu-2"):
        path = tmp_path / f"{node}.yaml"
        path.write_text(yaml.safe_dump(obs.node_scenario(data, node)))
        gpus = load_simulation(path).base.gpus
        assert [g.name for g in gpus] == ["NVIDIA A10G", "NVIDIA A10G", "NVIDIA L4"]
        uuids[node] = [g.uuid for g in gpus]
    assert uuids["gpu-1"][2] == uuids["gpu-2"][2] == "GPU-given"
    assert len({*uuids["gpu-1"][:2], *uuids["gpu-2"][:2]}) == 4
    assert all(u.startswith("GPU-") and len(u) == 40 for u in uuids["gpu-1"][:2])
    assert obs.node_scenario(data, "gpu-1") == obs.node_scenario(data, "gpu-1")  # the same on every run


def test_devices_follow_the_device_plugin_replicas_spread_and_mig_devices_by_profile() -> None:
    from gpu_node_agent.snapshot import GpuSnapshot, MigSnapshot

    a, b = GpuSnapshot(index=0, uuid="GPU-a"), GpuSnapshot(index=1, uuid="GPU-b")
    assert obs.node_devices([a, b], 2) == {"nvidia.com/gpu": ["GPU-a", "GPU-b"]}
    assert obs.node_devices([a, b], 4) == {"nvidia.com/gpu": ["GPU-a::0", "GPU-b::0", "GPU-a::1", "GPU-b::1"]}
    mig = GpuSnapshot(index=2, uuid="GPU-m", mig_enabled=True, mig_devices=tuple(
        MigSnapshot(gpu_instance_id=i, compute_instance_id=0, profile=p, uuid=f"MIG-{i}")
        for i, p in ((1, "1g.10gb"), (2, "1g.10gb"), (3, "3g.40gb"))))
    assert obs.node_devices([mig], 0) == {"nvidia.com/mig-1g.10gb": ["MIG-1", "MIG-2"],
                                          "nvidia.com/mig-3g.40gb": ["MIG-3"]}


def test_pods_take_free_devices_in_scheduling_order_and_keep_them_while_they_live(tmp_path: Path) -> None:
    from gpu_node_agent.podfile import PodResourcesFile, answer_json
    from gpu_node_agent.podresources import PodRef

    devices = {"nvidia.com/gpu": ["GPU-a", "GPU-b", "GPU-c"], "nvidia.com/mig-1g.10gb": ["MIG-1"]}
    gpu = {"nvidia.com/gpu": "1", "cpu": "100m"}
    pods = [
        gpu_pod("late", "n", "2026-01-01T00:00:09Z", ("main", gpu)),
        gpu_pod("early", "n", "2026-01-01T00:00:01Z", ("main", {"nvidia.com/gpu": "2"}), ("log", {"cpu": "1"})),
        gpu_pod("web", "n", "2026-01-01T00:00:00Z", ("main", {"cpu": "1"})),  # no GPU: never an owner
        gpu_pod("slice", "n", "2026-01-01T00:00:05Z", ("main", {"nvidia.com/mig-1g.10gb": "1"})),
    ]
    held = obs.allocate({}, pods, devices)
    ids = {key[1]: [(a.ref.container, a.resource, a.device_ids) for a in allocs] for key, allocs in held.items()}
    assert ids == {"early": [("main", "nvidia.com/gpu", ("GPU-a", "GPU-b"))],
                   "slice": [("main", "nvidia.com/mig-1g.10gb", ("MIG-1",))],
                   "late": [("main", "nvidia.com/gpu", ("GPU-c",))]}
    # `early` goes, `next` comes: `late` keeps GPU-c (no reshuffle), `next` takes a freed GPU.
    after = obs.allocate(held, [pods[0], pods[3], gpu_pod("next", "n", "2026-01-01T00:00:20Z", ("main", gpu))],
                         devices)
    assert {k[1]: [a.device_ids for a in v] for k, v in after.items()} == {
        "slice": [("MIG-1",)], "late": [("GPU-c",)], "next": [("GPU-a",)]}
    # A pod asking more than is free gets nothing (the kubelet would refuse it).
    full = obs.allocate(after, [pods[0], pods[3], gpu_pod("next", "n", "2026-01-01T00:00:20Z", ("main", gpu)),
                               gpu_pod("big", "n", "2026-01-01T00:00:30Z", ("main", {"nvidia.com/gpu": "2"}))],
                        devices)
    assert [k[1] for k, v in full.items() if not v] == ["big"]
    # What the agent reads from the file the supervisor writes.
    path = tmp_path / "pods-n.json"
    obs.write_json(path, answer_json(a for allocs in after.values() for a in allocs))
    lookup = PodResourcesFile(path).lookup()
    assert lookup.error is None and lookup.owners == {
        "MIG-1": PodRef("slice", "ml", "main"), "GPU-c": PodRef("late", "ml", "main"),
        "GPU-a": PodRef("next", "ml", "main")}


def test_finished_and_unbound_pods_hold_no_devices() -> None:
    gpu = ("main", {"nvidia.com/gpu": "1"})
    pods = [gpu_pod("done", "n1", "t", gpu, phase="Succeeded"), gpu_pod("failed", "n1", "t", gpu, phase="Failed"),
            gpu_pod("run", "n1", "t", gpu), gpu_pod("other", "n2", "t", gpu, phase="Pending"),
            {"metadata": {"name": "unbound"}, "spec": {}, "status": {"phase": "Pending"}}]
    assert {n: [p["metadata"]["name"] for p in ps] for n, ps in obs.bound_pods(pods).items()} == {
        "n1": ["run"], "n2": ["other"]}
