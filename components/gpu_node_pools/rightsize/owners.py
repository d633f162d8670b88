"""Which workload a pod belongs to: its controller from kube-state-metrics' owner series where Prometheus has them,
else the stem of its name, cut the way the controllers name their pods.

Kubernetes' name suffixes come from one alphabet without vowels and look-alike digits (`bcdfghjklmnpqrstvwxz2456789`):
a Deployment's pod is `<deployment>-<pod-template-hash>-<5>`, a Job's `<job>-<5>`, a CronJob's Job
`<cronjob>-<scheduled minute>`, a StatefulSet's `<statefulset>-<ordinal>`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from .series import Series

__all__ = ["Owner", "OwnerIndex", "owner_from_name"]

_SAFE = "[bcdfghjklmnpqrstvwxz2456789]"
_NAME_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(rf"^(.+)-\d{{8,}}-{_SAFE}{{5}}$"), "CronJob"),
    (re.compile(rf"^(.+)-{_SAFE}{{6,10}}-{_SAFE}{{5}}$"), "Deployment"),
    (re.compile(rf"^(.+)-{_SAFE}{{5}}$"), "Job"),
    (re.compile(r"^(.+)-\d+$"), "StatefulSet"),
)
_REPLICASET_HASH = re.compile(rf"^(.+)-{_SAFE}{{6,10}}$")
_CRONJOB_RUN = re.compile(r"^(.+)-\d{8,}$")


@dataclass(frozen=True, order=True)
class Owner:
    namespace: str
    kind: str
    name: str
    source: str = "kube_pod_owner"  # or "pod name"


def owner_from_name(namespace: str, pod: str) -> Owner:
    """The owner a pod's name implies; a name no controller would give is its own workload (kind Pod)."""
    for pattern, kind in _NAME_RULES:
        match = pattern.match(pod)
        if match:
            return Owner(namespace, kind, match.group(1), "pod name")
    return Owner(namespace, "Pod", pod, "pod name")


def _parent(series: Series) -> tuple[str, str] | None:
    kind = series.labels.get("owner_kind", "")
    return None if kind in ("", "<none>") else (kind, series.labels.get("owner_name", ""))


class OwnerIndex:
    """Pods' owners from `kube_pod_owner`, followed one step up (ReplicaSet -> Deployment, Job -> CronJob) through
    `kube_replicaset_owner` and `kube_job_owner`, or through the same name rules when those are missing."""

    def __init__(self, pod_owners: Iterable[Series], replicaset_owners: Iterable[Series],
                 job_owners: Iterable[Series]) -> None:
        self._pods = {(s.labels["namespace"], s.labels["pod"]): _parent(s) for s in pod_owners}
        # None: kube-state-metrics says the ReplicaSet or Job has no owner (`<none>`): it is the workload itself.
        self._parents: dict[tuple[str, str, str], tuple[str, str] | None] = {
            ("ReplicaSet", s.labels["namespace"], s.labels["replicaset"]): _parent(s) for s in replicaset_owners}
        self._parents |= {("Job", s.labels["namespace"], s.labels["job_name"]): _parent(s) for s in job_owners}

    def owner(self, namespace: str, pod: str) -> Owner:
        if (namespace, pod) not in self._pods:
            return owner_from_name(namespace, pod)
        found = self._pods[(namespace, pod)]
        if found is None:  # a bare pod
            return Owner(namespace, "Pod", pod)
        kind, name = found
        key = (kind, namespace, name)
        if key in self._parents:
            parent = self._parents[key]
            return Owner(namespace, *parent) if parent else Owner(namespace, kind, name)
        # A ReplicaSet or Job without its own owner series: its name still says whether a controller made it.
        if kind == "ReplicaSet" and (match := _REPLICASET_HASH.match(name)):
            return Owner(namespace, "Deployment", match.group(1))
        if kind == "Job" and (match := _CRONJOB_RUN.match(name)):
            return Owner(namespace, "CronJob", match.group(1))
        return Owner(namespace, kind, name)
