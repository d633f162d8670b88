"""The stack file's `alerts` key: thresholds, `for:` durations and the job selectors the rules are built with.

Defaults follow the kubernetes-mixin / node-mixin rules people already run (same thresholds and durations), and
kube-prometheus' job names (`node-exporter`, `kube-state-metrics`). Every value is checked here, so a bad
duration or selector fails naming its key before a rule file or a PrometheusRule exists.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field

from ._model import ConfigModel

__all__ = [
    "AlertsConfig",
    "CostAlertsConfig",
    "Duration",
    "GpuAlertsConfig",
    "NodeAlertsConfig",
    "Selector",
]

# Prometheus' duration syntax (model.ParseDuration): units largest first, e.g. 1h30m, 90s, 0s.
_DURATION = re.compile(r"^((\d+)y)?((\d+)w)?((\d+)d)?((\d+)h)?((\d+)m)?((\d+)s)?((\d+)ms)?$")
# A PromQL label matcher list without braces: name op "value", comma separated (what goes inside `{...}`).
_MATCHER = r'[a-zA-Z_][a-zA-Z0-9_]*\s*(=|!=|=~|!~)\s*"(?:[^"\\]|\\.)*"'
_SELECTOR = re.compile(rf"^\s*({_MATCHER}\s*(,\s*{_MATCHER}\s*)*)?$")


def _check_duration(value: str) -> str:
    if not value or not _DURATION.match(value):
        raise ValueError(f"{value!r} is not a Prometheus duration (e.g. 30s, 5m, 1h30m)")
    return value


def _check_selector(value: str) -> str:
    if not _SELECTOR.match(value):
        raise ValueError(
            f"{value!r} is not a PromQL label matcher list (what goes inside braces), e.g. 'job=\"node-exporter\"'"
        )
    return value.strip()


Duration = Annotated[str, AfterValidator(_check_duration)]
Selector = Annotated[str, AfterValidator(_check_selector)]
Ratio = Annotated[float, Field(gt=0, le=1)]
Percent = Annotated[float, Field(gt=0, le=100)]


class NodeAlertsConfig(ConfigModel):
    """Node memory pressure and CPU saturation, as in kubernetes-mixin and node-mixin."""

    enabled: bool = Field(
        default=True, description="node rules; turn off where kubernetes-mixin/node-mixin already alert on nodes"
    )
    memory_pressure_for: Duration = Field(default="10m", description="kubelet MemoryPressure condition held this long")
    memory_high_percent: Percent = Field(default=90, description="node memory used above this percent")
    memory_high_for: Duration = Field(default="15m", description="node memory high this long")
    cpu_high_percent: Percent = Field(default=90, description="node CPU busy (not idle or iowait) above this percent")
    cpu_high_for: Duration = Field(default="15m", description="node CPU high this long")
    load_per_core: float = Field(default=2, gt=0, description="1-minute load average per core above this")
    load_for: Duration = Field(default="15m", description="load per core high this long")


class GpuAlertsConfig(ConfigModel):
    """GPU and node-agent trouble, from the agent's metrics."""

    memory_used_ratio: Ratio = Field(default=0.95, description="GPU framebuffer used / total above this")
    memory_for: Duration = Field(default="10m", description="GPU memory high this long")
    unhealthy_for: Duration = Field(default="5m", description="a GPU or node reported unhealthy this long")
    lost_for: Duration = Field(default="1m", description="a GPU reported lost this long (gpu-lost)")
    xid_window: Duration = Field(default="10m", description="window in which one critical XID error alerts")
    temperature_celsius: float = Field(default=85, gt=0, description="GPU temperature above this")
    temperature_for: Duration = Field(default="10m", description="GPU temperature high this long")
    slowdown_for: Duration = Field(
        default="10m", description="thermal or power-brake clock slowdown active this long"
    )
    agent_down_for: Duration = Field(default="5m", description="the agent's scrape failing this long")
    agent_missing_for: Duration = Field(default="15m", description="a GPU node without agent metrics this long")
    label_writes_failing_for: Duration = Field(default="15m", description="label writes failing this long")


class CostAlertsConfig(ConfigModel):
    """Money spent on GPUs that do nothing, and GPU work that can't start."""

    idle_utilization_ratio: Ratio = Field(
        default=0.05, description="a node whose busiest GPU stays below this utilization counts as idle"
    )
    idle_for: Duration = Field(default="2h", description="GPUs allocated to running pods but idle this long")
    pending_for: Duration = Field(default="30m", description="a pod requesting GPUs Pending this long")


class AlertsConfig(ConfigModel):
    """The stack file's `alerts` key."""

    node_exporter_selector: Selector = Field(
        default='job="node-exporter"', description="label matchers of node-exporter's series (node-mixin: job=\"node\")"
    )
    kube_state_metrics_selector: Selector = Field(
        default='job="kube-state-metrics"', description="label matchers of kube-state-metrics' series"
    )
    node_agent_selector: Selector = Field(
        default='job="gpu-node-agent"', description="label matchers of the node agent's series (scrape job)"
    )
    runbook_base_url: str = Field(
        default="docs/alerts.md",
        min_length=1,
        description="where docs/alerts.md is served; each GPU alert's runbook_url is this plus #<alert name>",
    )
    node: NodeAlertsConfig = Field(default_factory=NodeAlertsConfig, description="node memory and CPU rules")
    gpu: GpuAlertsConfig = Field(default_factory=GpuAlertsConfig, description="GPU and node-agent rules")
    cost: CostAlertsConfig = Field(default_factory=CostAlertsConfig, description="idle and pending GPU rules")
    prometheus_rule: bool = Field(
        default=False, description="deploy the rules as a PrometheusRule (needs prometheus-operator's CRDs)"
    )
    pod_monitor: bool = Field(
        default=False, description="deploy a PodMonitor for the node agent (needs prometheus-operator's CRDs)"
    )
    rule_labels: dict[str, str] = Field(
        default_factory=dict,
        description="labels on the PrometheusRule and PodMonitor, e.g. {release: kube-prometheus-stack} for its "
        "default selectors",
    )


    def runbook(self, alert: str) -> str:
        """The runbook link of one of our alerts: its section of docs/alerts.md, wherever that is served."""
        return f"{self.runbook_base_url}#{alert.lower()}"