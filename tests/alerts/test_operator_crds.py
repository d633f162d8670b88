"""The PrometheusRule and PodMonitor we build, validated against prometheus-operator's own CRD schemas (the
openAPIV3Schema of example/prometheus-operator-crd at the pinned operator version), as the API server would."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
import yaml

from gpu_node_pools.alerts import AlertsConfig
from gpu_node_pools.manifests.monitoring import build_monitoring
from gpu_node_pools.manifests.node_agent import NodeAgentConfig
from prometheus_tools import operator_crds

pytestmark = pytest.mark.cluster  # reads the operator's Go module (module proxy), like the toolchain builds


def schema(kind: str) -> dict[str, Any]:
    crd = yaml.safe_load((operator_crds() / f"monitoring.coreos.com_{kind.lower()}s.yaml").read_text())
    [version] = [v for v in crd["spec"]["versions"] if v["name"] == "v1"]
    return _strict(version["schema"]["openAPIV3Schema"])


def _strict(node: Any) -> Any:
    """Structural schemas prune unknown fields; make them errors instead, as `kubectl apply --validate=strict`."""
    if isinstance(node, dict):
        node = {k: _strict(v) for k, v in node.items()}
        # Go's RE2 takes a flag group anywhere; Python's re only at the start (same meaning here: `^(?i)x`).
        if isinstance(node.get("pattern"), str) and "(?i)" in node["pattern"]:
            node["pattern"] = "(?i)" + node["pattern"].replace("(?i)", "")
        if node.get("type") == "object" and "properties" in node and "additionalProperties" not in node \
                and not node.get("x-kubernetes-preserve-unknown-fields"):
            node["additionalProperties"] = False
        return node
    if isinstance(node, list):
        return [_strict(v) for v in node]
    return node


OBJECTS = build_monitoring(
    AlertsConfig(prometheus_rule=True, pod_monitor=True, rule_labels={"release": "kube-prometheus-stack"}),
    NodeAgentConfig(image="agent:1"),
)


@pytest.mark.parametrize("obj", OBJECTS, ids=[o["kind"] for o in OBJECTS])
def test_objects_match_the_operators_crd(obj: dict[str, Any]) -> None:
    jsonschema.validate(obj, schema(obj["kind"]))


def test_a_misspelt_field_fails_the_schema() -> None:
    monitor = next(o for o in OBJECTS if o["kind"] == "PodMonitor")
    bad = {**monitor, "spec": {**monitor["spec"], "podMetricEndpoints": monitor["spec"]["podMetricsEndpoints"]}}
    with pytest.raises(jsonschema.ValidationError, match="podMetricEndpoints"):
        jsonschema.validate(bad, schema("PodMonitor"))
