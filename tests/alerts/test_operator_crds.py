"""The PrometheusRule and PodMonitor we build, validated against prometheus-operator's own CRD schemas (the
openAPIV3Schema of example/prometheus-operator-crd at the pinned operator version), as the API server would."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from gpu_node_pools.config.alerts import AlertsConfig
from gpu_node_pools.config.node_agent import NodeAgentConfig
from gpu_node_pools.alerts.operator import build_monitoring
from k8s_schema import crd_schema_problems
from prometheus_tools import operator_crds

pytestmark = [pytest.mark.toolchain, pytest.mark.network]  # reads the operator's Go module (module proxy)


def crds() -> list[dict[str, Any]]:
    return [yaml.safe_load((operator_crds() / f"monitoring.coreos.com_{kind}.yaml").read_text())
            for kind in ("prometheusrules", "podmonitors")]


OBJECTS = build_monitoring(
    AlertsConfig(prometheus_rule=True, pod_monitor=True, rule_labels={"release": "kube-prometheus-stack"}),
    NodeAgentConfig(image="agent:1"),
)


@pytest.mark.parametrize("obj", OBJECTS, ids=[o["kind"] for o in OBJECTS])
def test_objects_match_the_operators_crd(obj: dict[str, Any]) -> None:
    assert crd_schema_problems(obj, crds()) == []


def test_a_misspelt_field_fails_the_schema() -> None:
    monitor = next(o for o in OBJECTS if o["kind"] == "PodMonitor")
    bad = {**monitor, "spec": {**monitor["spec"], "podMetricEndpoints": monitor["spec"]["podMetricsEndpoints"]}}
    assert any("podMetricEndpoints" in problem for problem in crd_schema_problems(bad, crds()))
