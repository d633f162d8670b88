"""One alert as data, and the PromQL selector helper every area's rules share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Alert", "series"]

# kubernetes-mixin's and node-mixin's own runbooks, for the node rules that follow their shapes.
UPSTREAM_RUNBOOKS = "https://runbooks.prometheus-operator.dev/runbooks"


def series(metric: str, *matchers: str) -> str:
    """`metric{m1, m2}` from matcher lists (empty ones dropped): `series("up", 'job="a"', 'x="1"')`."""
    inner = ", ".join(m for m in matchers if m)
    return f"{metric}{{{inner}}}" if inner else metric


@dataclass(frozen=True)
class Alert:
    name: str
    expr: str
    for_: str
    severity: str  # critical: act now; warning: act today; info: worth a look
    summary: str
    description: str
    runbook_url: str

    def rule(self) -> dict[str, Any]:
        """The rule as Prometheus' rule-file and PrometheusRule both spell it."""
        rule: dict[str, Any] = {"alert": self.name, "expr": self.expr}
        if self.for_ not in ("0s", "0m"):
            rule["for"] = self.for_
        rule["labels"] = {"severity": self.severity}
        rule["annotations"] = {
            "summary": self.summary,
            "description": self.description,
            "runbook_url": self.runbook_url,
        }
        return rule
