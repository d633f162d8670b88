"""The `elastic` block of a pool: a Karpenter NodePool instead of a managed node group.

An elastic pool has no node count. Karpenter launches a node when a pod that fits the pool cannot be scheduled
(for a GPU pool: one that tolerates the GPU taint), and gives it back when it has been empty (or underused) for
`consolidateAfter`; the pool's cap (`limits.gpus` for a GPU pool, `limits.cpu` and `limits.memory` for a general
one) is its cost ceiling. What a node may be (families or types, architectures, capacity types) and the cap are
checked against the instance-type table here, before anything is created: a general pool never gets a GPU type,
a GPU pool never a type without one.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from ..facts.instance_types import INSTANCE_TYPES, InstanceType
from ._model import ConfigModel
from .fields import Quantity, parse_quantity

__all__ = [
    "DEFAULT_CONSOLIDATE_AFTER",
    "DEFAULT_CONSOLIDATION_POLICY",
    "DEFAULT_EXPIRE_AFTER",
    "ARCHITECTURES",
    "DisruptionBudgetConfig",
    "DisruptionConfig",
    "ElasticConfig",
    "ElasticLimitsConfig",
    "NodeClassRefConfig",
    "allowed_instance_types",
    "capacity_problems",
    "node_pool_name_problem",
]

CapacityType = Literal["spot", "on-demand"]
Architecture = Literal["amd64", "arm64"]
# Kubernetes' architecture names -> the instance table's (EC2's).
ARCHITECTURES: dict[str, str] = {"amd64": "x86_64", "arm64": "arm64"}

# By pool kind. GPU nodes take minutes to boot and pull multi-GB images: give one back only after it has sat empty
# this long, so a job that follows another a few minutes later finds it, and only when empty (moving a training job
# restarts it). General nodes are cheap and quick to replace: pack them tight (Karpenter moves pods off underused
# nodes) after a short settle, so a burst of pods doesn't make it launch and remove nodes back and forth.
DEFAULT_CONSOLIDATE_AFTER: dict[str, str] = {"gpu": "10m", "general": "1m"}
DEFAULT_CONSOLIDATION_POLICY: dict[str, str] = {"gpu": "WhenEmpty", "general": "WhenEmptyOrUnderutilized"}
# Karpenter's default: every node is replaced after 30 days (fresh AMI, no long-lived drift).
DEFAULT_EXPIRE_AFTER = "720h"
# Karpenter's default budget: at most 10 % of the pool's nodes disrupted at once.
DEFAULT_BUDGET_NODES = "10%"

# karpenter.sh/v1 duration syntax (the NodePool CRD's patterns).
_DURATION = re.compile(r"^([0-9]+(s|m|h))+$")
_DURATION_OR_NEVER = re.compile(r"^(([0-9]+(s|m|h))+|Never)$")
_BUDGET_NODES = re.compile(r"^((100|[0-9]{1,2})%|[0-9]+)$")
_CRON_MACRO = {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def _duration(value: str, *, never: bool) -> str:
    if not (_DURATION_OR_NEVER if never else _DURATION).match(value):
        allowed = "'Never' or " if never else ""
        raise ValueError(f"{value!r} is not a duration: {allowed}a number and unit, combined, e.g. 30s, 10m, 1h30m")
    return value


class NodeClassRefConfig(ConfigModel):
    """The NodeClass a NodePool's nodes boot from (Karpenter's `nodeClassRef`)."""

    group: str = Field(description="API group, e.g. karpenter.k8s.aws")
    kind: str = Field(description="kind, e.g. EC2NodeClass")
    name: str = Field(description="object name")

    def to_k8s(self) -> dict[str, str]:
        return {"group": self.group, "kind": self.kind, "name": self.name}


class ElasticLimitsConfig(ConfigModel):
    """The pool's cap: Karpenter launches no node that would take the pool's total past it."""

    gpus: int | None = Field(
        default=None, ge=1,
        description="GPU pools (required): most GPUs the pool's nodes may have in total (nvidia.com/gpu), the cost cap",
    )
    cpu: Quantity | None = Field(
        default=None, description="most vCPUs in total, e.g. '192' (required for general pools; GPU pools: no cap)"
    )
    memory: Quantity | None = Field(
        default=None, description="most memory in total, e.g. 1Ti (required for general pools; GPU pools: no cap)"
    )


class DisruptionBudgetConfig(ConfigModel):
    """How many of the pool's nodes Karpenter may disrupt at once, optionally only in a cron window."""

    nodes: str = Field(default=DEFAULT_BUDGET_NODES, description="a count ('1') or a percentage ('10%'); '0' blocks")
    schedule: str | None = Field(default=None, description="cron schedule (UTC) when the budget starts, e.g. '0 9 * * 1-5'")
    duration: str | None = Field(default=None, description="how long the budget holds after each schedule start, e.g. 8h")
    reasons: list[Literal["Empty", "Underutilized", "Drifted"]] | None = Field(
        default=None, description="disruption reasons the budget applies to (default: all)"
    )

    @field_validator("nodes")
    @classmethod
    def _nodes(cls, nodes: str) -> str:
        if not _BUDGET_NODES.match(nodes):
            raise ValueError(f"{nodes!r} is not a node count ('2') or a percentage ('10%')")
        return nodes

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, schedule: str | None) -> str | None:
        if schedule is not None and schedule not in _CRON_MACRO and len(schedule.split()) != 5:
            raise ValueError(f"{schedule!r} is not a cron schedule: five fields (minute hour day month weekday)")
        return schedule

    @field_validator("duration")
    @classmethod
    def _duration(cls, duration: str | None) -> str | None:
        return None if duration is None else _duration(duration, never=False)

    @model_validator(mode="after")
    def _window(self) -> DisruptionBudgetConfig:
        if (self.schedule is None) != (self.duration is None):
            raise ValueError("schedule and duration go together: a budget window needs both")
        return self

    def to_k8s(self) -> dict[str, object]:
        budget: dict[str, object] = {"nodes": self.nodes}
        if self.schedule is not None:
            budget.update(schedule=self.schedule, duration=self.duration)
        if self.reasons is not None:
            budget["reasons"] = list(self.reasons)
        return budget


class DisruptionConfig(ConfigModel):
    """When Karpenter gives nodes back, and how many at once."""

    consolidation_policy: Literal["WhenEmpty", "WhenEmptyOrUnderutilized"] | None = Field(
        default=None,
        description="WhenEmpty: only nodes without workload pods; WhenEmptyOrUnderutilized also moves running pods "
                    "(default: WhenEmpty for GPU pools, WhenEmptyOrUnderutilized for general pools)",
    )
    consolidate_after: str | None = Field(
        default=None,
        description="how long a node stays empty (or underused) before it is given back, e.g. 10m; 'Never' keeps it "
                    "(default: 10m for GPU pools, 1m for general pools)",
    )
    budgets: list[DisruptionBudgetConfig] = Field(
        default_factory=lambda: [DisruptionBudgetConfig()],
        description="at most this many nodes disrupted at once (default 10%)",
    )

    @field_validator("consolidate_after")
    @classmethod
    def _consolidate_after(cls, value: str | None) -> str | None:
        return None if value is None else _duration(value, never=True)

    def to_k8s(self, kind: str) -> dict[str, object]:
        """The NodePool's `disruption` for a pool of `kind` (gpu, general): unset keys take that kind's default."""
        return {
            "consolidationPolicy": self.consolidation_policy or DEFAULT_CONSOLIDATION_POLICY[kind],
            "consolidateAfter": self.consolidate_after or DEFAULT_CONSOLIDATE_AFTER[kind],
            "budgets": [b.to_k8s() for b in self.budgets],
        }


def _on_demand() -> list[CapacityType]:
    return ["on-demand"]


def _amd64() -> list[Architecture]:
    return ["amd64"]


class ElasticConfig(ConfigModel):
    """Makes a pool elastic: a Karpenter NodePool, scaled from zero to its cap by demand."""

    instance_families: list[str] | None = Field(
        default=None,
        description="EC2 instance families, e.g. [g5, g6] or [m7i] (or the pool's instanceTypes, not both); every "
                    "size fits",
    )
    capacity_types: list[CapacityType] = Field(
        default_factory=_on_demand,
        min_length=1,
        description="spot, on-demand or both (Karpenter takes spot when both are allowed and spot is offered)",
    )
    architectures: list[Architecture] = Field(
        default_factory=_amd64, min_length=1, description="CPU architectures: amd64, arm64"
    )
    limits: ElasticLimitsConfig = Field(
        description="the cap: most GPUs (GPU pools), most vCPUs and memory (general pools) in total"
    )
    disruption: DisruptionConfig = Field(
        default_factory=DisruptionConfig, description="when nodes are given back (consolidation) and how many at once"
    )
    expire_after: str = Field(
        default=DEFAULT_EXPIRE_AFTER, description="replace a node after it has run this long, e.g. 720h; or 'Never'"
    )
    termination_grace_period: str | None = Field(
        default=None,
        description="longest a node drain may take before its pods are deleted anyway, e.g. 1h (default: no limit)",
    )
    weight: int | None = Field(
        default=None, ge=1, le=100, description="preference among pools that fit a pod: higher first (1-100)"
    )
    node_class_ref: NodeClassRefConfig | None = Field(
        default=None,
        description="NodeClass the nodes boot from (default: EC2NodeClass gpu-node-pools on EKS, KWOKNodeClass default on an existing cluster)",
    )

    @field_validator("instance_families")
    @classmethod
    def _families(cls, families: list[str] | None) -> list[str] | None:
        if families is None:
            return None
        if not families:
            raise ValueError("list at least one family, or leave the key out and list instanceTypes")
        known = {t.family for t in INSTANCE_TYPES.values()}
        for family in families:
            if family not in known:
                raise ValueError(
                    f"unknown instance family {family!r}: the instance-type table (facts/instance_types.py) has "
                    f"{', '.join(sorted(_families(gpu=True)))} with GPUs, {', '.join(sorted(_families(gpu=False)))} "
                    "without"
                )
        return families

    @field_validator("capacity_types", "architectures")
    @classmethod
    def _unique(cls, values: list[str]) -> list[str]:
        duplicates = sorted({v for v in values if values.count(v) > 1})
        if duplicates:
            raise ValueError(f"listed twice: {', '.join(duplicates)}")
        return values

    @field_validator("expire_after")
    @classmethod
    def _expire_after(cls, value: str) -> str:
        return _duration(value, never=True)

    @field_validator("termination_grace_period")
    @classmethod
    def _termination_grace_period(cls, value: str | None) -> str | None:
        return None if value is None else _duration(value, never=False)


def _families(*, gpu: bool) -> set[str]:
    return {t.family for t in INSTANCE_TYPES.values() if t.is_gpu == gpu}


def allowed_instance_types(elastic: ElasticConfig, instance_types: list[str], *, gpu: bool = True
                           ) -> list[InstanceType]:
    """The table's instance types an elastic pool may launch: its types or families, on its architectures, with
    GPUs for a GPU pool (`gpu`) and without for a general one."""
    arches = {ARCHITECTURES[a] for a in elastic.architectures}
    if elastic.instance_families is not None:
        families = set(elastic.instance_families)
        candidates = [t for t in INSTANCE_TYPES.values() if t.family in families]
    else:
        candidates = [t for name in instance_types if (t := INSTANCE_TYPES.get(name))]
    return [t for t in candidates if t.is_gpu == gpu and t.arch in arches]


def _kind_problems(elastic: ElasticConfig, instance_types: list[str], gpu: bool) -> list[tuple[tuple[str, ...], str]]:
    """Families, types and caps of the other kind of pool: a general pool never launches a GPU instance (it has no
    GPU taint, so any pod could land on one) and has no GPU cap; a GPU pool launches only GPU instances."""
    problems: list[tuple[tuple[str, ...], str]] = []
    kind = "GPU" if gpu else "general"
    if elastic.instance_families is not None:
        other = [f for f in elastic.instance_families if f not in _families(gpu=gpu)]
        if other:
            wanted = ", ".join(sorted(_families(gpu=gpu)))
            what = "has no GPU" if gpu else "is a GPU family"
            problems.append((("elastic", "instanceFamilies"), (
                f"instance family {', '.join(repr(f) for f in other)} {what} (instance-type table); a {kind} pool "
                f"takes {wanted}")))
    else:
        other = [n for n in instance_types if (t := INSTANCE_TYPES.get(n)) is not None and t.is_gpu != gpu]
        if other:
            what = "without GPUs" if gpu else "GPU instances; a general pool never launches one (it has no GPU taint)"
            problems.append((("instanceTypes",), f"{', '.join(other)}: {what}"))
    limits = elastic.limits
    if gpu and limits.gpus is None:
        problems.append((("elastic", "limits", "gpus"), "required key is missing (a GPU pool's cap: most GPUs in total)"))
    if not gpu:
        if limits.gpus is not None:
            problems.append((("elastic", "limits", "gpus"), "a general pool has no GPUs to cap: give cpu and memory"))
        for key in ("cpu", "memory"):
            if getattr(limits, key) is None:
                problems.append((("elastic", "limits", key), (
                    f"required key is missing (a general pool's cap: most {'vCPUs' if key == 'cpu' else 'memory'} "
                    "in total, its cost ceiling)")))
    return problems


def capacity_problems(elastic: ElasticConfig, instance_types: list[str], *, gpu: bool = True
                      ) -> list[tuple[tuple[str, ...], str]]:
    """Cross-key problems of an elastic pool (of GPUs when `gpu`, else general), each with its key path under the
    pool.

    Unknown types, types of another architecture or kind, and a cap below the smallest node (Karpenter could never
    launch one): every one of them leaves a pool that never gets a node (or a general pool that gets a GPU node),
    silently. Found here, they name their key.
    """
    if elastic.instance_families is not None and instance_types:
        return [(("instanceTypes",), "give instanceTypes or elastic.instanceFamilies, not both")]
    problems = _kind_problems(elastic, instance_types, gpu)
    if problems:
        return problems
    if elastic.instance_families is None:
        if not instance_types:
            return [(("instanceTypes",), "an elastic pool lists instanceTypes or elastic.instanceFamilies")]
        unknown = [name for name in instance_types if name not in INSTANCE_TYPES]
        if unknown:
            problems.append((("instanceTypes",), f"{', '.join(unknown)}: not in the instance-type table "
                             "(facts/instance_types.py), which an elastic pool's cap is checked against"))
    allowed = allowed_instance_types(elastic, instance_types, gpu=gpu)
    wanted = ", ".join(elastic.architectures)
    if not allowed and not problems:
        chosen = elastic.instance_families or instance_types
        key = ("elastic", "instanceFamilies") if elastic.instance_families else ("instanceTypes",)
        problems.append((key, f"no {'GPU ' if gpu else ''}type of {', '.join(chosen)} runs on {wanted} "
                              "(elastic.architectures)"))
    elif elastic.instance_families is None:
        other = [t.name for t in INSTANCE_TYPES.values() if t.name in instance_types and t not in allowed]
        if other:
            problems.append((("instanceTypes",), f"{', '.join(other)}: not {wanted} (elastic.architectures)"))
    if allowed:
        smallest = min(allowed, key=lambda t: (t.gpus, t.vcpu))
        limits = elastic.limits
        if limits.gpus is not None and limits.gpus < smallest.gpus:
            problems.append((("elastic", "limits", "gpus"), (
                f"a cap of {limits.gpus} GPU(s) is smaller than one node: the smallest allowed type, {smallest.name}, "
                f"has {smallest.gpus}, so Karpenter could never launch a node")))
        smallest_cpu = min(allowed, key=lambda t: t.vcpu)
        if limits.cpu is not None and parse_quantity(limits.cpu) < smallest_cpu.vcpu:
            problems.append((("elastic", "limits", "cpu"), (
                f"a cap of {limits.cpu} vCPUs is smaller than one node ({smallest_cpu.name}: {smallest_cpu.vcpu})")))
        smallest_mem = min(allowed, key=lambda t: t.memory_mib)
        if limits.memory is not None and parse_quantity(limits.memory) < smallest_mem.memory_mib * 2**20:
            problems.append((("elastic", "limits", "memory"), (
                f"a cap of {limits.memory} is smaller than one node ({smallest_mem.name}: {smallest_mem.memory_mib}Mi)")))
    return problems


def node_pool_name_problem(name: str) -> str | None:
    """Why `name` can't name a NodePool (a DNS subdomain: lowercase), or None."""
    if len(name) > 253 or not _DNS_SUBDOMAIN.match(name):
        return f"{name!r} can't name a Karpenter NodePool: use lowercase letters, digits and '-' (a DNS name)"
    return None
