"""The PrometheusRule and PodMonitor we build, validated against prometheus-operator's own CRD schemas (vendored in
tests/data/crds/ by `make operator-crds` at the version tools/prometheus/sets.sh pins), as the API server would."""

from __future__ import annotations

import re
from typing import Any

import pytest
from gpu_node_pools.alerts.operator import build_monitoring
from gpu_node_pools.config.alerts import AlertsConfig
from gpu_node_pools.config.node_agent import NodeAgentConfig
from k8s_schema import OPERATOR_CRD_DIR, ROOT, crd_problems, operator_crds
from prometheus_tools import operator_crds as module_crds

OBJECTS = build_monitoring(
    AlertsConfig(prometheus_rule=True, pod_monitor=True, rule_labels={"release": "kube-prometheus-stack"}),
    NodeAgentConfig(image="agent:1"),
)


@pytest.mark.parametrize("obj", OBJECTS, ids=[o["kind"] for o in OBJECTS])
def test_objects_match_the_operators_crd(obj: dict[str, Any]) -> None:
    assert crd_problems(obj) == []


def test_a_misspelt_field_fails_the_schema() -> None:
    monitor = next(o for o in OBJECTS if o["kind"] == "PodMonitor")
    bad = {**monitor, "spec": {**monitor["spec"], "podMetricEndpoints": monitor["spec"]["podMetricsEndpoints"]}}
    assert any("podMetricEndpoints" in problem for problem in crd_problems(bad))


def test_the_vendored_crds_are_the_pinned_version_and_serve_our_kinds() -> None:
    pinned = re.search(r"^PROMETHEUS_OPERATOR_VERSION=(\S+)$",
                       (ROOT / "tools" / "prometheus" / "sets.sh").read_text(), re.M)
    assert pinned and OPERATOR_CRD_DIR.name == f"prometheus-operator-{pinned[1]}", "run `make operator-crds`"
    assert sorted(crd["spec"]["names"]["kind"] for crd in operator_crds()) == ["PodMonitor", "PrometheusRule"]


@pytest.mark.toolchain  # go, and the module the Prometheus build put in the module cache
def test_the_vendored_crds_are_the_modules_own() -> None:
    upstream = module_crds()
    for path in sorted(OPERATOR_CRD_DIR.glob("*.yaml")):
        assert path.read_bytes() == (upstream / path.name).read_bytes(), f"{path.name}: run `make operator-crds`"
