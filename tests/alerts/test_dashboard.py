"""dashboards/gpu-node-agent.json: every panel query parses (promtool) and names only series the node agent
exports (the metric spec) or standard ones, each selected by the dashboard's job and node variables."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from agent_series import AGENT_SERIES
from prometheus_tools import ROOT, promtool

DASHBOARD = ROOT / "dashboards" / "gpu-node-agent.json"
# Series every Prometheus set-up has for a scraped agent: the scrape's `up` and prometheus_client's process metrics.
STANDARD_SERIES = frozenset({"up", "process_resident_memory_bytes"})
# Grafana's variables, as a query of the dashboard sends them (all nodes selected).
VARIABLES = {"$__rate_interval": "1m", "$__range": "6h", "$job": "gpu-node-agent", "$node": ".*"}


def targets() -> list[tuple[str, dict[str, Any]]]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [(f"{p['title']}/{t['refId']}", t) for p in dashboard["panels"] for t in p.get("targets", [])]


def expand(expr: str) -> str:
    for name, value in VARIABLES.items():
        expr = expr.replace(name, value)
    return expr


def test_panels_are_distinct_and_every_target_has_a_query() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    assert targets() and all(t.get("expr") for _, t in targets())


def test_queries_name_only_agent_or_standard_series_with_the_job_and_node_selectors() -> None:
    used = set()
    for where, target in targets():
        selectors = re.findall(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}", target["expr"])
        assert selectors, where
        for metric, matchers in selectors:
            assert matchers.startswith('job=~"$job", node=~"$node"'), (where, metric)
            used.add(metric)
    assert used <= AGENT_SERIES | STANDARD_SERIES, sorted(used - AGENT_SERIES - STANDARD_SERIES)
    # The dashboard covers the agent's series, not a sample of them.
    assert AGENT_SERIES - used == set(), sorted(AGENT_SERIES - used)


def test_workload_panels_read_only_pod_attributed_series_per_namespace_and_pod() -> None:
    """The per-workload efficiency panels: utilization over time and a table over the range, by namespace/pod."""
    workload = [(w, t["expr"]) for w, t in targets() if "by workload" in w or "efficiency" in w]
    assert {w.split("/")[0] for w, _ in workload} == {
        "GPU utilization by workload (pod-attributed GPUs)", "Workload efficiency over the time range"}
    for where, expr in workload:
        assert re.match(r"^(avg|max|count) by \(namespace, pod\) \(", expr), where
        assert 'pod!=""' in expr, where  # an unallocated GPU is nobody's workload
    assert any("gpu_node_agent_gpu_utilization_ratio" in e and "$__range" in e for _, e in workload)
    assert any("gpu_node_agent_gpu_memory_used_bytes" in e for _, e in workload)


@pytest.mark.toolchain
def test_every_query_parses_with_promtool(tmp_path: Path) -> None:
    rules = [{"record": f"dashboard:query_{i}", "expr": expand(t["expr"])} for i, (_, t) in enumerate(targets())]
    (tmp_path / "queries.yaml").write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    proc = promtool("check", "rules", "queries.yaml", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # and a query that does not parse fails the same check
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(
        {"groups": [{"name": "d", "rules": [{"record": "x:y", "expr": "sum by (node (up)"}]}]}))
    assert promtool("check", "rules", "bad.yaml", cwd=tmp_path).returncode != 0
