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
