"""The alert rules as data: config validation, selectors and thresholds flowing into the rules, every rule's
annotations, and the opt-in prometheus-operator objects. promtool runs them in tests/alerts/."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from gpu_node_pools.alerts import alerts, rule_file, rule_groups, scrape_config
from gpu_node_pools.cli import main
from gpu_node_pools.config.alerts import AlertsConfig
from gpu_node_pools.config.node_agent import NodeAgentConfig
from gpu_node_pools.config.platform import ConfigError, parse_platform_config
from gpu_node_pools.contract import IsolationContract
from gpu_node_pools.parts import in_cluster_objects
from gpu_node_pools.alerts.operator import build_monitoring
from gpu_node_pools.manifests.node_agent import build_node_agent

ROOT = Path(__file__).resolve().parents[1]
BASE = {"cluster": {"mode": "existing", "kubeconfig": "kc"}, "nodeAgent": {"image": "agent:1"}}


def platform(alerts_config: dict[str, object]) -> object:
    return parse_platform_config({**BASE, "alerts": alerts_config}, "stacks/Pulumi.t.yaml")


@pytest.mark.parametrize(("alerts_config", "key", "message"), [
    ({"gpu": {"memoryUsedPercent": 90}}, "gpu-node-pools:alerts.gpu.memoryUsedPercent",
     "unknown key; did you mean 'memoryUsedRatio'?"),
    ({"nodeExporterSelector": "job=node"}, "gpu-node-pools:alerts.nodeExporterSelector",
     "'job=node' is not a PromQL label matcher list"),
    ({"node": {"cpuHighFor": "15 minutes"}}, "gpu-node-pools:alerts.node.cpuHighFor",
     "'15 minutes' is not a Prometheus duration"),
    ({"gpu": {"memoryUsedRatio": 95}}, "gpu-node-pools:alerts.gpu.memoryUsedRatio", "less than or equal to 1"),
    ({"cost": {"idleFor": ""}}, "gpu-node-pools:alerts.cost.idleFor", "is not a Prometheus duration"),
    ({"prometheusrule": True}, "gpu-node-pools:alerts.prometheusrule", "did you mean 'prometheusRule'?"),
])
def test_bad_alert_config_names_the_key(alerts_config: dict[str, object], key: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        platform(alerts_config)
    assert f"{key}: " in str(caught.value) and message in str(caught.value), str(caught.value)


def test_defaults_follow_the_mixins() -> None:
    rules = {r["alert"]: r for g in rule_groups(AlertsConfig()) for r in g["rules"]}
    # kubernetes-mixin's KubeNodePressure and node-mixin's rules: same series, thresholds and durations.
    assert rules["KubeNodeMemoryPressure"]["for"] == "10m"
    assert 'condition="MemoryPressure"' in rules["KubeNodeMemoryPressure"]["expr"]
    assert rules["NodeCPUHighUsage"]["expr"].endswith("* 100 > 90") and rules["NodeCPUHighUsage"]["for"] == "15m"
    assert rules["NodeSystemSaturation"]["expr"].endswith("> 2")
    assert rules["NodeMemoryHighUtilization"]["expr"].endswith("> 90")


def test_selectors_and_thresholds_reach_every_rule() -> None:
    config = AlertsConfig.model_validate({
        "nodeExporterSelector": 'job="node"', "kubeStateMetricsSelector": 'job="ksm", cluster="a"',
        "nodeAgentSelector": 'job="agents"', "gpu": {"memoryUsedRatio": 0.8, "memoryFor": "3m"},
        "node": {"loadPerCore": 1.5},
    })
    rules = {r["alert"]: r for g in rule_groups(config) for r in g["rules"]}
    series = re.compile(r"\b(node_\w+|kube_\w+|gpu_node_agent_\w+|up)\{([^}]*)\}")
    for name, rule in rules.items():
        found = series.findall(rule["expr"])
        assert found, name
        for metric, matchers in found:
            want = ('job="node"' if metric.startswith("node_") else 'job="ksm", cluster="a"'
                    if metric.startswith("kube_") else 'job="agents"')
            assert matchers.startswith(want), (name, metric, matchers)
    assert "> 0.8" in rules["GpuMemoryPressure"]["expr"] and rules["GpuMemoryPressure"]["for"] == "3m"
    assert rules["NodeSystemSaturation"]["expr"].endswith("> 1.5")


def test_node_rules_can_be_left_to_the_mixins() -> None:
    config = AlertsConfig.model_validate({"node": {"enabled": False}})
    assert [g["name"] for g in rule_groups(config)] == [
        "gpu-node-pools.gpu", "gpu-node-pools.node-agent", "gpu-node-pools.cost"]


def test_every_alert_is_documented_and_annotated() -> None:
    runbooks = (ROOT / "docs" / "alerts.md").read_text()
    anchors = {re.sub(r"[^a-z0-9-]", "", h.lower().replace(" ", "-")) for h in re.findall(r"^#+ (.+)$", runbooks, re.M)}
    for alert in alerts(AlertsConfig()):
        rule = alert.rule()
        assert rule["labels"]["severity"] in ("critical", "warning", "info"), alert.name
        assert set(rule["annotations"]) == {"summary", "description", "runbook_url"}, alert.name
        if alert.runbook_url.startswith("docs/alerts.md#"):
            assert alert.runbook_url.split("#")[1] in anchors, f"docs/alerts.md has no section {alert.name}"
        else:
            assert alert.runbook_url.startswith("https://runbooks.prometheus-operator.dev/"), alert.name
        assert alert.name in runbooks, f"docs/alerts.md does not mention {alert.name}"


def test_cli_prints_the_rule_file_and_scrape_config(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--project-dir", str(ROOT), "alerts", "--stack", "local"]) == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed == rule_file(AlertsConfig())
    assert main(["--project-dir", str(ROOT), "alerts", "--stack", "local", "--scrape-config"]) == 0
    [job] = yaml.safe_load(capsys.readouterr().out)["scrape_configs"]
    assert job == scrape_config(NodeAgentConfig(image="gpu-node-agent:local"))


def test_scrape_config_keeps_only_agent_pods_metrics_port_and_names_their_node() -> None:
    agent = NodeAgentConfig(image="a:1", namespace="gpu-agents")
    job = scrape_config(agent)
    assert job["job_name"] == "gpu-node-agent" and job["honor_labels"] is True
    assert job["kubernetes_sd_configs"] == [{"role": "pod", "namespaces": {"names": ["gpu-agents"]}}]
    [ds] = [o for o in build_node_agent(agent, IsolationContract()) if o["kind"] == "DaemonSet"]
    pod_labels = ds["spec"]["template"]["metadata"]["labels"]
    port_names = [p["name"] for c in ds["spec"]["template"]["spec"]["containers"] for p in c.get("ports", [])]
    keep = {r["source_labels"][0]: r["regex"] for r in job["relabel_configs"] if r.get("action") == "keep"}
    assert pod_labels["app.kubernetes.io/name"] == keep["__meta_kubernetes_pod_label_app_kubernetes_io_name"]
    assert keep["__meta_kubernetes_pod_container_port_name"] in port_names
    static = scrape_config(agent, targets={"127.0.0.1:9500": "gpu-0"})
    assert static["static_configs"] == [{"targets": ["127.0.0.1:9500"], "labels": {"node": "gpu-0"}}]


def test_operator_objects_are_opt_in() -> None:
    assert [o["kind"] for o in in_cluster_objects(platform({})) if "monitoring" in o["apiVersion"]] == []
    objects = in_cluster_objects(platform({"prometheusRule": True, "podMonitor": True,
                                           "ruleLabels": {"release": "kube-prometheus-stack"}}))
    rule, monitor = (o for o in objects if o["apiVersion"] == "monitoring.coreos.com/v1")
    assert rule["kind"] == "PrometheusRule" and rule["spec"]["groups"] == rule_groups(AlertsConfig())
    assert monitor["kind"] == "PodMonitor" and monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    [ds] = [o for o in objects if o["kind"] == "DaemonSet" and o["metadata"]["name"] == "gpu-node-agent"]
    pod_labels = ds["spec"]["template"]["metadata"]["labels"]
    assert monitor["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    # jobLabel names the pod label whose value becomes `job`: what nodeAgentSelector matches by default.
    assert f'job="{pod_labels[monitor["spec"]["jobLabel"]]}"' == AlertsConfig().node_agent_selector
    assert monitor["metadata"]["namespace"] == ds["metadata"]["namespace"]


def test_no_pod_monitor_without_an_agent() -> None:
    alerts_config = AlertsConfig(prometheus_rule=True, pod_monitor=True)
    kinds = [o["kind"] for o in build_monitoring(alerts_config, NodeAgentConfig(enabled=False))]
    assert kinds == ["PrometheusRule"]
