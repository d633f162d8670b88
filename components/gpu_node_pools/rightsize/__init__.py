"""GPU rightsizing: per-workload GPU use from the node agent's Prometheus series, and what to change (pure)."""

from .owners import Owner, owner_from_name
from .recommend import Recommendation, Usage, recommend
from .report import MissingSeries, PoolSummary, Report, WorkloadReport, build_report, report_json
from .series import Query, Window, queries

__all__ = [
    "MissingSeries", "Owner", "PoolSummary", "Query", "Recommendation", "Report", "Usage", "Window", "WorkloadReport",
    "build_report", "owner_from_name", "queries", "recommend", "report_json",
]
