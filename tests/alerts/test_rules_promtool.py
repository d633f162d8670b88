"""Every generated alert under `promtool test rules`: it fires on a bad series, resolves when the series recovers,
and stays quiet on healthy input. Cases are tables, one per area; the promtool test file is built from them.

Each case's bad series is bad from minute 0 and healthy after `bad_until`; the alert must be firing at `fire_at`
(with exactly `labels` and its annotations rendered) and gone at `clear_at`. `healthy` is a second set of series
on which the alert must stay silent at both times. Annotations are compared in full: the expected text comes from
the rule's own templates with the case's labels and value filled in, so a template that does not render fails.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml
from gpu_node_pools.alerts import alerts, rule_file_yaml
from gpu_node_pools.config.alerts import AlertsConfig
from prometheus_tools import promtool

AGENT = {"job": "gpu-node-agent", "instance": "10.0.0.7:9402", "node": "gpu-a"}
KSM = {"job": "kube-state-metrics", "instance": "ksm:8080"}
NE = {"job": "node-exporter", "instance": "10.0.0.8:9100"}


def s(metric: str, values: str, **labels: str) -> dict[str, str]:
    inner = ", ".join(f'{k}="{v}"' for k, v in labels.items())
    return {"series": f"{metric}{{{inner}}}", "values": values}


@dataclass(frozen=True)
class Case:
    alert: str
    bad: list[dict[str, str]]
    fire_at: str
    clear_at: str
    labels: dict[str, str]
    value: float
    healthy: list[dict[str, str]] = field(default_factory=list)


GPU = {**AGENT, "gpu": "0", "UUID": "GPU-0a", "modelName": "NVIDIA H100 80GB HBM3"}

NODE_CASES = [
    Case("KubeNodeMemoryPressure",
         [s("kube_node_status_condition", "1x15 0x20", **KSM, node="n1", condition="MemoryPressure", status="true"),
          s("kube_node_spec_unschedulable", "0x35", **KSM, node="n1")],
         "13m", "20m", {**KSM, "node": "n1", "condition": "MemoryPressure", "status": "true"}, 1,
         healthy=[s("kube_node_status_condition", "0x35", **KSM, node="n2", condition="MemoryPressure", status="true"),
                  s("kube_node_spec_unschedulable", "0x35", **KSM, node="n2"),
                  # cordoned: draining already, as kubernetes-mixin has it
                  s("kube_node_status_condition", "1x35", **KSM, node="n3", condition="MemoryPressure", status="true"),
                  s("kube_node_spec_unschedulable", "1x35", **KSM, node="n3")]),
    Case("NodeMemoryHighUtilization",
         [s("node_memory_MemAvailable_bytes", "5x20 50x20", **NE), s("node_memory_MemTotal_bytes", "100x40", **NE)],
         "18m", "25m", NE, 95,
         healthy=[s("node_memory_MemAvailable_bytes", "50x40", **NE), s("node_memory_MemTotal_bytes", "100x40", **NE)]),
    Case("NodeCPUHighUsage",
         [s("node_cpu_seconds_total", "0+57x25 1425+6x20", **NE, cpu="0", mode="user"),
          s("node_cpu_seconds_total", "0+3x25 75+54x20", **NE, cpu="0", mode="idle")],
         "20m", "35m", NE, 95,
         healthy=[s("node_cpu_seconds_total", "0+6x45", **NE, cpu="0", mode="user"),
                  s("node_cpu_seconds_total", "0+54x45", **NE, cpu="0", mode="idle")]),
    Case("NodeSystemSaturation",
         [s("node_load1", "5x20 0.5x20", **NE),
          s("node_cpu_seconds_total", "0+60x40", **NE, cpu="0", mode="idle"),
          s("node_cpu_seconds_total", "0+60x40", **NE, cpu="1", mode="idle")],
         "18m", "25m", NE, 2.5,
         healthy=[s("node_load1", "1x40", **NE),
                  s("node_cpu_seconds_total", "0+60x40", **NE, cpu="0", mode="idle"),
                  s("node_cpu_seconds_total", "0+60x40", **NE, cpu="1", mode="idle")]),
]

GPU_CASES = [
    Case("GpuMemoryPressure",
         [s("gpu_node_agent_gpu_memory_used_bytes", "96x30 50x30", **GPU),
          s("gpu_node_agent_gpu_memory_total_bytes", "100x60", **GPU)],
         "20m", "45m", GPU, 0.96,
         healthy=[s("gpu_node_agent_gpu_memory_used_bytes", "90x60", **GPU),
                  s("gpu_node_agent_gpu_memory_total_bytes", "100x60", **GPU)]),
    Case("GpuLost",
         [s("gpu_node_agent_node_healthy", "0x10 stale", **AGENT, reason="gpu-lost"),
          s("gpu_node_agent_node_healthy", "_x10 1x20", **AGENT, reason="ok")],
         "5m", "15m", {**AGENT, "reason": "gpu-lost"}, 0,
         healthy=[s("gpu_node_agent_node_healthy", "1x30", **AGENT, reason="ok"),
                  s("gpu_node_agent_node_healthy", "0x30", **{**AGENT, "node": "gpu-b"}, reason="read-failing")]),
    Case("GpuNodeUnhealthy",
         [s("gpu_node_agent_node_healthy", "0x10 stale", **AGENT, reason="read-failing"),
          s("gpu_node_agent_node_healthy", "_x10 1x20", **AGENT, reason="ok")],
         "8m", "15m", {**AGENT, "reason": "read-failing"}, 0,
         healthy=[s("gpu_node_agent_node_healthy", "1x30", **AGENT, reason="ok"),
                  s("gpu_node_agent_node_healthy", "0x30", **{**AGENT, "node": "gpu-b"}, reason="gpu-lost")]),
    Case("GpuUnhealthy",
         [s("gpu_node_agent_gpu_healthy", "0x10 1x20", **GPU)],
         "8m", "15m", GPU, 0,
         healthy=[s("gpu_node_agent_gpu_healthy", "1x30", **GPU)]),
    Case("GpuCriticalXidError",
         [s("gpu_node_agent_gpu_xid_errors_total", "0x10 1x40", **GPU, xid="79")],
         "12m", "30m", {**GPU, "xid": "79"}, 1,
         # 13 (graphics engine exception) is the application's fault: the device plugin ignores it too.
         healthy=[s("gpu_node_agent_gpu_xid_errors_total", "0x10 1x40", **GPU, xid="13")]),
    Case("GpuCriticalXidError",  # the counter appears already at 1 (first XID since the agent started)
         [s("gpu_node_agent_gpu_xid_errors_total", "_x5 1x40", **GPU, xid="48")],
         "6m", "20m", {**GPU, "xid": "48"}, 1,
         healthy=[s("gpu_node_agent_gpu_xid_errors_total", "_x5 1x40", **GPU, xid="43")]),
    Case("GpuTemperatureHigh",
         [s("gpu_node_agent_gpu_temperature_celsius", "90x15 60x20", **GPU)],
         "13m", "20m", GPU, 90,
         healthy=[s("gpu_node_agent_gpu_temperature_celsius", "70x35", **GPU)]),
    Case("GpuClocksSlowdown",
         [s("gpu_node_agent_gpu_clocks_event_active", "1x15 0x20", **GPU, reason="hw_power_brake_slowdown")],
         "13m", "20m", {**GPU, "reason": "hw_power_brake_slowdown"}, 1,
         # running at the power cap is what a busy GPU does
         healthy=[s("gpu_node_agent_gpu_clocks_event_active", "1x35", **GPU, reason="sw_power_cap")]),
]

AGENT_CASES = [
    Case("GpuNodeAgentDown",
         [s("up", "0x10 1x20", **AGENT)],
         "8m", "20m", AGENT, 0,
         healthy=[s("up", "1x30", **AGENT), s("up", "0x30", job="node-exporter", instance="x:9100")]),
    Case("GpuNodeAgentMissing",
         [s("kube_node_status_allocatable", "4x60", **KSM, node="gpu-a", resource="nvidia_com_gpu", unit="integer"),
          s("gpu_node_agent_up", "_x20 1x40", **AGENT)],
         "18m", "30m", {"node": "gpu-a"}, 4,
         healthy=[s("kube_node_status_allocatable", "4x60", **KSM, node="gpu-a", resource="nvidia_com_gpu",
                    unit="integer"),
                  s("gpu_node_agent_up", "1x60", **AGENT),
                  s("kube_node_status_allocatable", "0x60", **KSM, node="cpu-a", resource="nvidia_com_gpu",
                    unit="integer")]),
    Case("GpuNodeAgentLabelWritesFailing",
         [s("gpu_node_agent_label_write_failures_total", "0+1x30 30x30", **AGENT)],
         "25m", "40m", AGENT, 1 / 60,
         healthy=[s("gpu_node_agent_label_write_failures_total", "5x60", **AGENT)]),
]

_RUNNING = {**KSM, "namespace": "ml", "pod": "train"}
_PENDING = {**KSM, "namespace": "ml", "pod": "wait"}
COST_CASES = [
    Case("GpuAllocatedButIdle",
         [s("kube_pod_container_resource_requests", "2x200", **_RUNNING, container="c", node="gpu-a",
            resource="nvidia_com_gpu", unit="integer"),
          s("kube_pod_status_phase", "1x200", **_RUNNING, phase="Running"),
          s("gpu_node_agent_gpu_utilization_ratio", "0.01x150 0.9x50", **GPU),
          s("gpu_node_agent_gpu_utilization_ratio", "0.02x150 0.9x50", **{**GPU, "gpu": "1", "UUID": "GPU-1b"})],
         "140m", "160m", {"node": "gpu-a"}, 2,
         healthy=[s("kube_pod_container_resource_requests", "2x200", **_RUNNING, container="c", node="gpu-a",
                    resource="nvidia_com_gpu", unit="integer"),
                  s("kube_pod_status_phase", "1x200", **_RUNNING, phase="Running"),
                  s("gpu_node_agent_gpu_utilization_ratio", "0.01x200", **GPU),
                  s("gpu_node_agent_gpu_utilization_ratio", "0.7x200", **{**GPU, "gpu": "1", "UUID": "GPU-1b"}),
                  # idle, but nobody holds its GPUs: capacity, not waste
                  s("gpu_node_agent_gpu_utilization_ratio", "0x200", **{**GPU, "node": "gpu-c"})]),
    Case("GpuPodPending",
         [s("kube_pod_container_resource_requests", "1x40", **_PENDING, container="c", node="",
            resource="nvidia_com_gpu", unit="integer"),
          s("kube_pod_status_phase", "1x35 0x5", **_PENDING, phase="Pending")],
         "33m", "38m", {"namespace": "ml", "pod": "wait"}, 1,
         healthy=[s("kube_pod_container_resource_requests", "1x40", **_PENDING, container="c", node="",
                    resource="cpu", unit="core"),
                  s("kube_pod_status_phase", "1x40", **_PENDING, phase="Pending")]),
]

AREAS = {"node": NODE_CASES, "gpu": GPU_CASES, "agent": AGENT_CASES, "cost": COST_CASES}

_TEMPLATE = re.compile(r"\{\{\s*(.*?)\s*\}\}")


def render(template: str, labels: dict[str, str], value: float) -> str:
    """The few Go template forms our annotations use, as Prometheus renders them."""

    def one(match: re.Match[str]) -> str:
        expr = match.group(1)
        if expr.startswith("$labels."):
            return labels[expr.removeprefix("$labels.")]
        if expr == "$value":
            return f"{value:g}"
        if expr == "$value | humanizePercentage":
            return f"{value * 100:.4g}%"
        if fmt := re.fullmatch(r'printf "(%\.\d+f)" \$value', expr):
            return fmt.group(1) % value
        raise AssertionError(f"the test does not know the template form {{{{ {expr} }}}}")

    return _TEMPLATE.sub(one, template)


def promtool_tests(config: AlertsConfig, cases: list[Case]) -> dict[str, object]:
    by_name = {a.name: a for a in alerts(config)}
    tests: list[dict[str, object]] = []
    for case in cases:
        alert = by_name[case.alert]
        labels = {**case.labels, "severity": alert.severity}
        annotations = {
            "summary": alert.summary,
            "description": render(alert.description, labels, case.value),
            "runbook_url": alert.runbook_url,
        }
        tests.append({
            "name": f"{case.alert}: fires, then resolves",
            "interval": "1m",
            "input_series": case.bad,
            "alert_rule_test": [
                {"eval_time": case.fire_at, "alertname": case.alert,
                 "exp_alerts": [{"exp_labels": labels, "exp_annotations": annotations}]},
                {"eval_time": case.clear_at, "alertname": case.alert, "exp_alerts": []},
            ],
        })
        tests.append({
            "name": f"{case.alert}: quiet on healthy input",
            "interval": "1m",
            "input_series": case.healthy,
            "alert_rule_test": [{"eval_time": t, "alertname": case.alert, "exp_alerts": []}
                                for t in (case.fire_at, case.clear_at)],
        })
    return {"rule_files": ["rules.yaml"], "evaluation_interval": "1m", "tests": tests}


def test_every_alert_has_a_case() -> None:
    tested = {c.alert for cases in AREAS.values() for c in cases}
    assert {a.name for a in alerts(AlertsConfig())} == tested
    assert all(c.healthy for cases in AREAS.values() for c in cases)


@pytest.mark.toolchain
def test_generated_rule_file_passes_promtool_check(tmp_path: Path) -> None:
    (tmp_path / "rules.yaml").write_text(rule_file_yaml(AlertsConfig()))
    proc = promtool("check", "rules", "--lint=all", "--lint-fatal", "rules.yaml", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"SUCCESS: {len(alerts(AlertsConfig()))} rules found" in proc.stdout


@pytest.mark.toolchain
@pytest.mark.parametrize("area", sorted(AREAS))
def test_alerts_fire_resolve_and_stay_quiet(tmp_path: Path, area: str) -> None:
    config = AlertsConfig()
    (tmp_path / "rules.yaml").write_text(rule_file_yaml(config))
    (tmp_path / "test.yaml").write_text(yaml.safe_dump(promtool_tests(config, AREAS[area]), sort_keys=False))
    proc = promtool("test", "rules", "test.yaml", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.toolchain
def test_a_broken_rule_fails_the_promtool_test(tmp_path: Path) -> None:
    """The harness can fail: thresholds raised beyond the bad series leave the firing checks unmet."""
    config = AlertsConfig.model_validate({"gpu": {"memoryUsedRatio": 0.99}})
    (tmp_path / "rules.yaml").write_text(rule_file_yaml(config))
    (tmp_path / "test.yaml").write_text(yaml.safe_dump(promtool_tests(config, GPU_CASES[:1]), sort_keys=False))
    proc = promtool("test", "rules", "test.yaml", cwd=tmp_path)
    assert proc.returncode != 0 and "GpuMemoryPressure" in proc.stdout + proc.stderr


@pytest.mark.toolchain
def test_scrape_config_and_rule_file_pass_promtool_check_config(tmp_path: Path) -> None:
    """What a plain-Prometheus user pastes: the agent's job (Kubernetes pod discovery) and the rule file."""
    from gpu_node_pools.alerts import scrape_config
    from gpu_node_pools.config.node_agent import NodeAgentConfig

    (tmp_path / "rules.yaml").write_text(rule_file_yaml(AlertsConfig()))
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump({
        "rule_files": ["rules.yaml"], "scrape_configs": [scrape_config(NodeAgentConfig(image="agent:1"))]}))
    proc = promtool("check", "config", "prometheus.yml", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"SUCCESS: {len(alerts(AlertsConfig()))} rules found" in proc.stdout
