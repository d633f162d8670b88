"""Prometheus alert rules as data, built from the stack's `alerts` config (one module per area).

`rule_groups` is what both a plain rule file (`gpu-node-pools alerts --stack X`) and the PrometheusRule object
carry; `scrape_config` is the agent's scrape job for a Prometheus without prometheus-operator.
"""

from __future__ import annotations

from typing import Any

import yaml

from ..config.alerts import AlertsConfig
from ._rule import Alert
from .agent import agent_alerts
from .cost import cost_alerts
from .gpu import gpu_alerts
from .node import node_alerts
from .scrape import scrape_config

__all__ = ["Alert", "alerts", "rule_file", "rule_file_yaml", "rule_groups", "scrape_config"]

_AREAS = (
    ("gpu-node-pools.node", node_alerts),
    ("gpu-node-pools.gpu", gpu_alerts),
    ("gpu-node-pools.node-agent", agent_alerts),
    ("gpu-node-pools.cost", cost_alerts),
)


def alerts(config: AlertsConfig) -> list[Alert]:
    return [alert for _, build in _AREAS for alert in build(config)]


def rule_groups(config: AlertsConfig) -> list[dict[str, Any]]:
    """One group per area (an area with no rule is left out), in Prometheus' rule-file shape."""
    groups = []
    for name, build in _AREAS:
        rules = [alert.rule() for alert in build(config)]
        if rules:
            groups.append({"name": name, "rules": rules})
    return groups


def rule_file(config: AlertsConfig) -> dict[str, Any]:
    """A Prometheus rule file (`rule_files:` entry)."""
    return {"groups": rule_groups(config)}


class _Dumper(yaml.SafeDumper):
    """Multi-line expressions as literal blocks (`expr: |`), the way rule files are written by hand."""


_Dumper.add_representer(
    str,
    lambda dumper, value: dumper.represent_scalar(
        "tag:yaml.org,2002:str", value, style="|" if "\n" in value else None
    ),
)


def rule_file_yaml(config: AlertsConfig) -> str:
    return yaml.dump(rule_file(config), Dumper=_Dumper, sort_keys=False, width=120, allow_unicode=True)
