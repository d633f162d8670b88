"""Node pools as data: the config model, its checks, and the facts derived from it (AMI, labels, taints).

`aws.nodegroup.nodegroup_request` turns a pool into its EKS CreateNodegroup request and
`aws.launch_template.launch_template_data` into its EC2 launch template; simulated nodes for the local cluster are
derived from the same model.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_camel

from ..contract import (
    BUILTIN_DEVICE_PLUGIN_LABEL,
    GPU_PRESENT_LABEL,
    POOL_KIND_LABEL,
    POOL_LABEL,
    IsolationContract,
    Taint,
)
from ..facts.amis import AMI_TYPES, DEFAULT_AMI, RETIRED_AMI_TYPES, AmiType
from ..facts.instance_types import InstanceType, lookup
from ..facts.mig import MigGpu, mig_gpu
from ._model import ConfigModel, key_errors
from .elastic import ElasticConfig, allowed_instance_types, capacity_problems, node_pool_name_problem
from .isolation import TaintConfig
from .karpenter import EC2_NODE_CLASS_REF, mig_node_class_name
from .labels import label_key_problem, label_value_problem
from .sharing import (
    DEVICE_PLUGIN_CONFIG_LABEL,
    GPU_SHARING_LABEL,
    MIG_STRATEGY_LABEL,
    MigConfig,
    SharingConfig,
    advertised_resources,
    sharing_node_labels,
    sharing_problems,
)

__all__ = [
    "DEFAULT_DISK_SIZE_GIB",
    "DEFAULT_MAX_UNAVAILABLE_PERCENTAGE",
    "MAX_POOL_NAME_LENGTH",
    "NodePoolConfig",
    "ScalingConfig",
    "UpdateConfig",
]

PoolKind = Literal["gpu", "general"]
CapacityType = Literal["ON_DEMAND", "SPOT", "CAPACITY_BLOCK"]

# terraform-aws-eks' default: roll a third of the pool at a time.
DEFAULT_MAX_UNAVAILABLE_PERCENTAGE = 33
# GPU images and model caches are large; EKS' own default of 20 GiB fills up quickly.
DEFAULT_DISK_SIZE_GIB: dict[str, int] = {"gpu": 100, "general": 50}
# Node groups are named `<pool>-<26-character suffix>` (node_group_name_prefix, so a replacement can be created
# before the old group is deleted); EKS allows 63 characters, which leaves 36 for the pool name.
MAX_POOL_NAME_LENGTH = 63 - 26 - 1
_NODEGROUP_NAME = re.compile(rf"^[0-9A-Za-z][A-Za-z0-9_-]{{0,{MAX_POOL_NAME_LENGTH - 1}}}$")
_CAPACITY_RESERVATION_ID = re.compile(r"^cr-[0-9a-f]{8,17}$")
# EC2 tag limits (EC2 User Guide, "Tag restrictions"); the `aws:` prefix is AWS's own.
_MAX_TAG_KEY, _MAX_TAG_VALUE = 128, 256
_OUR_LABEL_KEYS = frozenset({POOL_LABEL, POOL_KIND_LABEL, GPU_PRESENT_LABEL, BUILTIN_DEVICE_PLUGIN_LABEL})
_SHARING_LABEL_KEYS = frozenset({DEVICE_PLUGIN_CONFIG_LABEL, GPU_SHARING_LABEL, MIG_STRATEGY_LABEL})


class ScalingConfig(ConfigModel):
    """Node count bounds. `desired` is only the initial size: later drift (cluster autoscaler) is ignored."""

    min: int = Field(ge=0, description="fewest nodes")
    max: int = Field(ge=1, description="most nodes")
    desired: int | None = Field(default=None, ge=0, description="initial node count (default: min)")

    @model_validator(mode="after")
    def _ordered(self) -> ScalingConfig:
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        if self.desired is not None and not self.min <= self.desired <= self.max:
            raise ValueError(f"desired ({self.desired}) is outside [min, max] = [{self.min}, {self.max}]")
        return self

    @property
    def desired_size(self) -> int:
        return self.min if self.desired is None else self.desired


class UpdateConfig(ConfigModel):
    """How many nodes a rolling update may take down: a count or a percentage (default 33 %), not both."""

    max_unavailable: int | None = Field(default=None, ge=1, le=100, description="nodes down at once in an update")
    max_unavailable_percentage: int | None = Field(
        default=None, ge=1, le=100, description="percent of nodes down at once (default 33 when neither is set)"
    )

    @model_validator(mode="after")
    def _at_most_one(self) -> UpdateConfig:
        if self.max_unavailable is not None and self.max_unavailable_percentage is not None:
            raise ValueError("set only one of maxUnavailable and maxUnavailablePercentage")
        return self

    def to_eks(self) -> dict[str, int]:
        if self.max_unavailable is not None:
            return {"maxUnavailable": self.max_unavailable}
        return {"maxUnavailablePercentage": self.max_unavailable_percentage or DEFAULT_MAX_UNAVAILABLE_PERCENTAGE}


# Keys of a managed node group that an elastic pool has no use for: Karpenter sizes it, its EC2NodeClass boots it.
_NOT_ELASTIC = {
    "scaling": "an elastic pool has no node count: Karpenter sizes it from zero up to elastic.limits",
    "capacity_type": "an elastic pool takes elastic.capacityTypes (spot, on-demand)",
    "capacity_reservation_id": "Capacity Blocks need a managed node group",
    "ami_type": "an elastic pool's nodes boot from its EC2NodeClass (AL2023; NVIDIA for GPU types)",
    "disk_size": "an elastic pool's root volume is set by its EC2NodeClass",
    "update": "an elastic pool is rolled by Karpenter's drift, bounded by elastic.disruption.budgets",
    "node_role_arn": "an elastic pool's nodes take the EC2NodeClass's role",
    "subnet_ids": "an elastic pool's subnets are found by the EC2NodeClass",
    "kubernetes_version": "an elastic pool's nodes follow the EC2NodeClass's AMI",
    "tags": "there is no node group to tag (the EC2NodeClass tags the instances)",
    "instance_tags": "an elastic pool's instance tags are set by its EC2NodeClass",
    "protect": "an elastic pool has no node group to protect; elastic.disruption.budgets bound what Karpenter removes",
}


class NodePoolConfig(ConfigModel):
    """One node pool: an EKS managed node group (or, on the local stack, a set of simulated nodes), or, for an
    elastic pool (GPU or general), a Karpenter NodePool."""

    name: str = Field(
        description="pool name, at most 36 characters: prefix of the node group name; the gpu-node-pools.io/pool label"
    )
    kind: PoolKind = Field(description="gpu pools carry the GPU taint and label; general pools neither")
    instance_types: list[str] = Field(
        default_factory=list, description="EC2 instance types, first is preferred (elastic pools: or instance families)"
    )
    scaling: ScalingConfig | None = Field(
        default=None, description="node count bounds (required, except for elastic pools); desired-size drift is ignored"
    )
    elastic: ElasticConfig | None = Field(
        default=None,
        description="make this pool elastic: a Karpenter NodePool scaled by demand up to its cap (GPUs, or vCPUs and "
                    "memory)",
    )
    sharing: SharingConfig | None = Field(
        default=None,
        description="share each GPU: one of timeSlicing {replicas}, mps {replicas}, mig {strategy, layout} "
                    "(docs/rightsizing.md); unset: whole GPUs",
    )
    ami_type: str | None = Field(
        default=None, description="EKS AMI type (default AL2023 NVIDIA for gpu, AL2023 standard for general)"
    )
    capacity_type: CapacityType = Field(default="ON_DEMAND", description="ON_DEMAND, SPOT or CAPACITY_BLOCK")
    capacity_reservation_id: str | None = Field(
        default=None,
        description="the Capacity Block's reservation (cr-...), required with CAPACITY_BLOCK; give subnets in its AZ",
    )
    disk_size: int | None = Field(
        default=None, ge=1, le=16384,
        description="GiB of the nodes' gp3, encrypted data volume (Bottlerocket: xvdb) (default 100 gpu, 50 general)",
    )
    update: UpdateConfig = Field(default_factory=UpdateConfig, description="rolling update settings")
    labels: dict[str, str] = Field(default_factory=dict, description="extra node labels")
    taints: list[TaintConfig] = Field(default_factory=list, description="extra taints, after the GPU taint")
    node_role_arn: str | None = Field(default=None, description="existing node IAM role (default: create one)")
    subnet_ids: list[str] | None = Field(default=None, description="subnets for this pool (default: the cluster's)")
    kubernetes_version: str | None = Field(default=None, description="pool version (default: the cluster's)")
    tags: dict[str, str] = Field(default_factory=dict, description="extra AWS tags on the node group")
    instance_tags: dict[str, str] = Field(
        default_factory=dict, description="extra AWS tags on the pool's instances and their volumes"
    )
    protect: bool = Field(default=False, description="refuse to delete the node group (Pulumi protect)")

    @field_validator("name")
    @classmethod
    def _name(cls, name: str) -> str:
        if not _NODEGROUP_NAME.match(name):
            raise ValueError(
                f"{name!r} is not a valid pool name (1-{MAX_POOL_NAME_LENGTH} letters, digits, '-' or '_', starting "
                "alphanumeric; the node group name adds a 27-character suffix)"
            )
        return name

    @field_validator("instance_types")
    @classmethod
    def _instance_types(cls, types: list[str]) -> list[str]:
        blank = [t for t in types if not t.strip()]
        if blank:
            raise ValueError("instance type names must not be empty")
        return types

    @field_validator("ami_type")
    @classmethod
    def _ami_known(cls, ami: str | None) -> str | None:
        if ami in RETIRED_AMI_TYPES:
            raise ValueError(f"{ami} reached end of support in November 2025; use an AL2023 or Bottlerocket AMI type")
        if ami is not None and ami not in AMI_TYPES:
            raise ValueError(f"unknown AMI type {ami!r}; allowed: {', '.join(AMI_TYPES)}")
        return ami

    @field_validator("capacity_reservation_id")
    @classmethod
    def _reservation_id(cls, reservation: str | None) -> str | None:
        if reservation is not None and not _CAPACITY_RESERVATION_ID.match(reservation):
            raise ValueError(f"{reservation!r} is not a capacity reservation id (cr- and 8 to 17 hex digits)")
        return reservation

    @field_validator("instance_tags")
    @classmethod
    def _instance_tags(cls, tags: dict[str, str]) -> dict[str, str]:
        for key, value in tags.items():
            if not 1 <= len(key) <= _MAX_TAG_KEY or len(value) > _MAX_TAG_VALUE:
                raise ValueError(f"tag {key!r}: keys are 1-{_MAX_TAG_KEY} characters, values at most {_MAX_TAG_VALUE}")
            if key.lower().startswith("aws:"):
                raise ValueError(f"tag {key!r}: the aws: prefix is reserved for AWS")
        return tags

    @field_validator("labels")
    @classmethod
    def _labels(cls, labels: dict[str, str]) -> dict[str, str]:
        for key, value in labels.items():
            problem = label_key_problem(key) or label_value_problem(value)
            if problem:
                raise ValueError(problem)
            if key in _OUR_LABEL_KEYS:
                raise ValueError(f"label {key!r} is set by the isolation contract and cannot be overridden")
            if key in _SHARING_LABEL_KEYS:
                raise ValueError(f"label {key!r} is set from the pool's sharing block and cannot be set by hand")
        return labels

    @model_validator(mode="after")
    def _managed_or_elastic(self) -> NodePoolConfig:
        """A managed pool needs its node count and types; an elastic one must not carry node-group-only keys."""
        problems: list[tuple[tuple[str, ...], str]] = []
        if self.elastic is None:
            if not self.instance_types:
                problems.append((("instanceTypes",), "List should have at least 1 item (a managed pool's instance types)"))
            if self.scaling is None:
                problems.append((("scaling",), "required key is missing (a managed pool's node count bounds)"))
            if problems:
                raise key_errors("NodePoolConfig", problems)
            return self
        problems += [
            ((to_camel(key),), f"not used by an elastic pool: {why}")
            for key, why in _NOT_ELASTIC.items() if key in self.model_fields_set
        ]
        name_problem = node_pool_name_problem(self.name)
        if name_problem:
            problems.append((("name",), name_problem))
        problems.extend(capacity_problems(self.elastic, self.instance_types, gpu=self.is_gpu))
        if problems:
            raise key_errors("NodePoolConfig", problems)
        return self

    @model_validator(mode="after")
    def _consistent(self) -> NodePoolConfig:
        gpu = self.kind == "gpu"
        for name in self.instance_types:
            facts = lookup(name)
            if facts is None:
                continue  # a type we have no facts for: EKS itself will judge it
            if gpu and not facts.is_gpu:
                raise ValueError(f"instance type {name} has no GPU, but pool {self.name!r} is a GPU pool")
            if not gpu and facts.is_gpu:
                raise ValueError(
                    f"instance type {name} is a GPU instance; put it in a pool of kind 'gpu' so it carries the GPU taint"
                )
        ami = self.ami()
        if gpu and not ami.gpu:
            raise ValueError(f"GPU pool {self.name!r} needs an NVIDIA AMI type, not {ami.name}")
        if not gpu and ami.gpu:
            raise ValueError(f"general pool {self.name!r} must not use the GPU AMI type {ami.name}")
        mismatched = [t for t in self.instance_types if (f := lookup(t)) and f.arch != ami.arch]
        if mismatched:
            raise ValueError(f"instance types {mismatched} do not match the {ami.arch} AMI type {ami.name}")
        return self

    @model_validator(mode="after")
    def _capacity_block(self) -> NodePoolConfig:
        """EKS launches CAPACITY_BLOCK pools only through a launch template that targets the reservation."""
        block = self.capacity_type == "CAPACITY_BLOCK"
        if block and self.capacity_reservation_id is None:
            raise _key_error("capacityReservationId", "capacityType CAPACITY_BLOCK needs its reservation's id (cr-...)")
        if not block and self.capacity_reservation_id is not None:
            raise _key_error(
                "capacityReservationId", f"set only with capacityType CAPACITY_BLOCK, not {self.capacity_type}"
            )
        if block and len(self.instance_types) > 1:
            count = len(self.instance_types)
            raise _key_error("instanceTypes", f"a Capacity Block reserves one instance type; this pool lists {count}")
        return self

    @model_validator(mode="after")
    def _sharing(self) -> NodePoolConfig:
        """Sharing needs NVIDIA's device plugin as we deploy it, and MIG a layout the pool's GPU model has."""
        if self.sharing is None:
            return self
        if not self.is_gpu:
            raise _key_error("sharing", "only GPU pools share GPUs")
        ami = self.ami()
        if ami.ships_device_plugin:
            raise _key_error("sharing", (
                f"{ami.name} runs its own device plugin, which the per-pool config doesn't reach; share GPUs on an "
                "AL2023 NVIDIA AMI type"))
        if self.elastic is not None and self.sharing.mig is not None:
            problem = _elastic_mig_problem(self.name, self.elastic, self.sharing.mig)
            if problem:
                raise key_errors("NodePoolConfig", [problem])
        if self.elastic is not None:
            types, unknown = allowed_instance_types(self.elastic, self.instance_types), []
        else:
            types = [facts for name in self.instance_types if (facts := lookup(name))]
            unknown = [name for name in self.instance_types if lookup(name) is None]
        problems = sharing_problems(self.sharing, types, unknown)
        if problems:
            raise key_errors("NodePoolConfig", problems)
        return self

    # --- derived facts ------------------------------------------------------------------------------------
    @property
    def is_gpu(self) -> bool:
        return self.kind == "gpu"

    @property
    def is_elastic(self) -> bool:
        """A Karpenter NodePool (no managed node group, no simulated nodes)."""
        return self.elastic is not None

    @property
    def node_scaling(self) -> ScalingConfig:
        """A managed pool's node count bounds (validation makes them present for every managed pool)."""
        if self.scaling is None:
            raise ValueError(f"pool {self.name!r} is elastic: it has no node count")
        return self.scaling

    def ami(self) -> AmiType:
        if self.ami_type:
            return AMI_TYPES[self.ami_type]
        known = [f for t in self.instance_types if (f := lookup(t))]
        arch = known[0].arch if known else "x86_64"
        if self.elastic is not None and not known:
            arch = "arm64" if self.elastic.architectures == ["arm64"] else "x86_64"
        return AMI_TYPES[DEFAULT_AMI[(self.is_gpu, arch)]]

    def node_labels(self, contract: IsolationContract) -> dict[str, str]:
        labels = {**self.labels, **contract.node_labels(self.name, gpu=self.is_gpu)}
        if self.ami().ships_device_plugin:
            labels[BUILTIN_DEVICE_PLUGIN_LABEL] = "true"
        if self.sharing is not None:
            labels.update(sharing_node_labels(self.device_plugin_config_name, self.sharing))
        return labels

    @property
    def device_plugin_config_name(self) -> str:
        """The name of this pool's config in the device plugin's multi-config ConfigMap (and its node label)."""
        return self.name

    def advertised_gpu_resources(self, facts: InstanceType) -> dict[str, int]:
        """What one node of type `facts` advertises through the device plugin, given this pool's sharing."""
        return advertised_resources(self.sharing, facts.gpus, facts.gpu_model)

    def mig_gpu(self) -> MigGpu | None:
        """The one MIG-capable GPU model of a MIG pool's instance types (validation made it one), else None."""
        if self.sharing is None or self.sharing.mig is None:
            return None
        if self.elastic is not None:
            types = allowed_instance_types(self.elastic, self.instance_types)
        else:
            types = [facts for name in self.instance_types if (facts := lookup(name))]
        return mig_gpu(types[0].gpu_model) if types else None

    def node_taints(self, contract: IsolationContract) -> list[Taint]:
        """The contract's GPU taint first (GPU pools), then the pool's own."""
        return contract.node_taints(gpu=self.is_gpu) + [t.taint() for t in self.taints]

    def effective_disk_size(self) -> int:
        return self.disk_size or DEFAULT_DISK_SIZE_GIB[self.kind]


def _elastic_mig_problem(name: str, elastic: ElasticConfig, mig: MigConfig) -> tuple[tuple[str, ...], str] | None:
    """What keeps MIG off an elastic pool. Karpenter plans a node from its instance type's resources: whole
    `nvidia.com/gpu`, never `nvidia.com/mig-<profile>`; and on EKS the layout is applied by the pool's own
    EC2NodeClass (`mig_node_class_name`), so another EC2NodeClass would boot its nodes without it."""
    if mig.strategy == "mixed":
        return (("sharing", "mig", "strategy"), (
            "mixed advertises nvidia.com/mig-<profile> resources, which Karpenter's instance types never offer, so "
            "it would launch no node for a pod asking one: use single on an elastic pool (its MIG devices are "
            "nvidia.com/gpu), or mixed on a managed pool (scaling instead of elastic)"))
    own = mig_node_class_name(name)
    ref = elastic.node_class_ref
    if ref is not None and ref.group == EC2_NODE_CLASS_REF["group"] and ref.name != own:
        return (("elastic", "nodeClassRef"), (
            f"a MIG pool boots from its own EC2NodeClass {own!r}, made with the layout in its user data; "
            f"{ref.name!r} would boot its nodes without it: leave nodeClassRef out"))
    return None


def _key_error(key: str, message: str) -> ValidationError:
    """A cross-field problem reported at one key of the pool (a plain ValueError would name only the pool)."""
    return key_errors("NodePoolConfig", [((key,), message)])
