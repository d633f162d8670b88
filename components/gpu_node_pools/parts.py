"""The one list of a platform's in-cluster parts.

Each part is one line of `IN_CLUSTER_PARTS`: the stack-file key it reads, its component (the Pulumi type token
`gpu-node-pools:index:<component>`), the args model a lone component takes, how a platform's config becomes
those args (none when the part is off; one per pool for elastic pools) and the pure builder of its objects.
`gpu-node-pools render`, the `GpuPlatform` component, the component package, `plan` and the stack's exports all
read this list, so adding an add-on is a config model, a builder and one line here (docs/development.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from .alerts.operator import build_monitoring
from .aws.karpenter_interruption import interruption_queue_name
from .aws.mig_user_data import mig_mime_document
from .config.auto_mode import AUTO_NODE_CLASS_REF
from .config.cluster import EksAutoClusterConfig, EksClusterConfig
from .config.component_args import (
    DevicePluginArgs,
    ElasticNodePoolArgs,
    MetricsServerArgs,
    MonitoringArgs,
    NodeAgentArgs,
    NodePoolArgs,
    PriorityClassesArgs,
    WorkloadNamespacesArgs,
)
from .config.elastic import NodeClassRefConfig
from .config.karpenter import EC2_NODE_CLASS_REF, NodeClassConfig, mig_node_class_name
from .config.node_pool import NodePoolConfig
from .config.platform import PlatformConfig, cluster_kubernetes_version
from .config.sharing import SharingConfig, platform_mig_strategy
from .contract import IsolationContract
from .manifests.auto_mode import build_auto_node_class
from .manifests.device_plugin import build_device_plugin
from .manifests.ec2_node_class import build_ec2_node_class
from .manifests.karpenter import KWOK_NODE_CLASS_REF, node_pool
from .manifests.karpenter_controller import build_karpenter_controller
from .manifests.karpenter_crds import karpenter_crds
from .manifests.metrics_server import build_metrics_server
from .manifests.node_agent import build_node_agent
from .manifests.priority_classes import build_priority_classes
from .manifests.tenants import build_tenants

__all__ = [
    "APPLY_ORDER",
    "AUTO_MODE",
    "AUTO_NODE_ROLE_PLACEHOLDER",
    "auto_mode_objects",
    "COMPONENT_ARGS",
    "CLUSTER_SECURITY_GROUP_PLACEHOLDER",
    "INSTANCE_PROFILE_PLACEHOLDER",
    "IN_CLUSTER_PARTS",
    "KARPENTER",
    "InClusterPart",
    "PartInstance",
    "default_node_class_ref",
    "in_cluster_objects",
    "karpenter_objects",
    "mig_node_classes",
    "object_id",
    "part",
    "type_token",
]

ArgsT = TypeVar("ArgsT", bound=BaseModel)

# The EC2NodeClass names an instance profile the stack creates on deploy, under a name only AWS knows until then.
INSTANCE_PROFILE_PLACEHOLDER = "<created on deploy: Karpenter node instance profile>"
# Karpenter's CRD wants an id to contain sg-[0-9a-z]+, which this one does.
CLUSTER_SECURITY_GROUP_PLACEHOLDER = "<created on deploy: the EKS cluster security group, sg-id>"

KARPENTER = "karpenter"
# The Auto Mode NodeClass of an eks-auto stack (configured under `cluster.autoMode`).
AUTO_MODE = "autoMode"
# The NodeClass names the node role the stack creates, under a name only AWS knows until then.
AUTO_NODE_ROLE_PLACEHOLDER = "<created on deploy: Auto Mode node role name>"

# Cluster-wide and container objects first, so namespaced objects find their namespace and roles exist.
APPLY_ORDER = (
    "CustomResourceDefinition",
    "PriorityClass",
    "Namespace",
    "ServiceAccount",
    "ClusterRole",
    "ClusterRoleBinding",
    "Role",
    "RoleBinding",
    "ConfigMap",
    "LimitRange",
    "ResourceQuota",
    "NetworkPolicy",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "Service",
    "DaemonSet",
    "Deployment",
    "PodDisruptionBudget",
    "APIService",
    "PrometheusRule",
    "PodMonitor",
    "EC2NodeClass",
    "NodeClass",
    # Last: the DaemonSets that must land on its nodes (device plugin, agent) exist before the first node does.
    "NodePool",
)


def type_token(component: str) -> str:
    return f"gpu-node-pools:index:{component}"


@dataclass(frozen=True)
class PartInstance(Generic[ArgsT]):
    """One component a platform declares for a part: its name (after the platform's, `<platform>-<suffix>`)
    and its args."""

    suffix: str
    args: ArgsT


@dataclass(frozen=True)
class InClusterPart(Generic[ArgsT]):
    """One in-cluster part of the platform. `instances` says what a platform declares of it (nothing when the
    part is off); `build` turns one instance's args into Kubernetes objects."""

    key: str
    component: str
    args_model: type[ArgsT] | None  # None: the part has no component of its own in the package
    instances: Callable[[PlatformConfig], list[PartInstance[ArgsT]]]
    build: Callable[[ArgsT], list[dict[str, Any]]]
    # Parts whose components this part's must come after (by key): an elastic pool's first node must find the
    # DaemonSets bound for it, and on EKS the EC2NodeClass it boots from.
    after: tuple[str, ...] = ()

    @property
    def type_token(self) -> str:
        return type_token(self.component)

    def objects(self, config: PlatformConfig) -> list[dict[str, Any]]:
        return [obj for instance in self.instances(config) for obj in self.build(instance.args)]


def _with(model: type[ArgsT], section: BaseModel, **extra: Any) -> ArgsT:
    """`model` (a section's model plus the keys a lone component needs) from the platform's section: the keys the
    section was given (the rest take the same defaults), so the model's "not used by ..." checks see what a user
    wrote, not every field."""
    return model(**{name: getattr(section, name) for name in section.model_fields_set}, **extra)


def _one(suffix: str, args: ArgsT | None) -> list[PartInstance[ArgsT]]:
    return [PartInstance(suffix, args)] if args is not None else []


def _section(suffix: str, model: type[ArgsT], section: Any, config: PlatformConfig, **extra: Any
             ) -> list[PartInstance[ArgsT]]:
    """One component for a section that has `enabled` (none when it is off), fenced by the platform's isolation."""
    return _one(suffix, _with(model, section, isolation=config.isolation, **extra) if section.enabled else None)


def _pool_sharing(config: PlatformConfig) -> dict[str, SharingConfig]:
    """The device plugin's named configs: one per shared pool, managed or elastic."""
    return {p.device_plugin_config_name: p.sharing for p in config.node_pools if p.sharing is not None}


def _elastic_pools(config: PlatformConfig) -> list[PartInstance[ElasticNodePoolArgs]]:
    """One ElasticNodePool per elastic pool, each naming the NodeClass it boots from (the platform's default
    unless the pool names its own)."""
    instances = []
    for pool in config.elastic_pools:
        assert pool.elastic is not None
        elastic = pool.elastic
        if elastic.node_class_ref is None:
            ref = NodeClassRefConfig(**default_node_class_ref(config, pool))
            elastic = elastic.model_copy(update={"node_class_ref": ref})
        args = _with(ElasticNodePoolArgs, pool.model_copy(update={"elastic": elastic}), isolation=config.isolation)
        instances.append(PartInstance(pool.name, args))
    return instances


def _build_elastic_pool(args: ElasticNodePoolArgs) -> list[dict[str, Any]]:
    """The pool's NodePool; a lone pool that names no NodeClass boots from the EKS layer's EC2NodeClass (a MIG
    pool from its own copy of it)."""
    assert args.elastic is not None  # the args model requires it
    ref = args.elastic.node_class_ref
    default = {**EC2_NODE_CLASS_REF, "name": mig_node_class_name(args.name)} if args.mig_gpu() else EC2_NODE_CLASS_REF
    return [node_pool(args, args.isolation.contract(), ref.to_k8s() if ref else default)]


def karpenter_objects(config: PlatformConfig) -> list[dict[str, Any]]:
    """Karpenter's CRDs, controller and EC2NodeClass on an EKS stack that enables it; the instance profile's name
    and the cluster security group (known after deploy) are placeholders here."""
    cluster = config.cluster
    if not (config.karpenter.enabled and isinstance(cluster, EksClusterConfig)):
        return []
    karpenter = config.karpenter
    queue = interruption_queue_name(cluster.name) if karpenter.interruption_queue.enabled else None
    return [
        *karpenter_crds(karpenter.version),
        *build_karpenter_controller(karpenter, cluster_name=cluster.name, interruption_queue=queue),
        build_ec2_node_class(
            karpenter.node_class, instance_profile=INSTANCE_PROFILE_PLACEHOLDER, subnet_ids=cluster.subnet_ids,
            security_group_id=CLUSTER_SECURITY_GROUP_PLACEHOLDER,
        ),
        *mig_node_classes(config.elastic_pools, karpenter.node_class, instance_profile=INSTANCE_PROFILE_PLACEHOLDER,
                          subnet_ids=cluster.subnet_ids, security_group_id=CLUSTER_SECURITY_GROUP_PLACEHOLDER),
    ]


def mig_node_classes(pools: list[NodePoolConfig], node_class: NodeClassConfig, *, instance_profile: Any,
                     subnet_ids: list[str], security_group_id: Any) -> list[dict[str, Any]]:
    """One EC2NodeClass per elastic MIG pool among `pools`: the shared class (same profile, network, disks) plus
    the pool's MIG layout script in `userData`, which Karpenter merges after its own NodeConfig."""
    classes = []
    for pool in pools:
        gpu = pool.mig_gpu()
        if pool.elastic is None or gpu is None:
            continue
        assert pool.sharing is not None and pool.sharing.mig is not None  # mig_gpu() is None otherwise
        classes.append(build_ec2_node_class(
            node_class, instance_profile=instance_profile, subnet_ids=subnet_ids,
            security_group_id=security_group_id, name=mig_node_class_name(pool.name),
            user_data=mig_mime_document(pool.sharing.mig, gpu)))
    return classes


def _karpenter(config: PlatformConfig) -> list[PartInstance[PlatformConfig]]:
    on = config.karpenter.enabled and isinstance(config.cluster, EksClusterConfig)
    return _one(KARPENTER, config if on else None)


def auto_mode_objects(config: PlatformConfig) -> list[dict[str, Any]]:
    """The Auto Mode NodeClass of an eks-auto stack; the node role's name and the cluster security group (known
    after deploy) are placeholders here."""
    cluster = config.cluster
    if not isinstance(cluster, EksAutoClusterConfig):
        return []
    return [build_auto_node_class(cluster.auto_mode.node_class, role=AUTO_NODE_ROLE_PLACEHOLDER,
                                  subnet_ids=cluster.subnet_ids, security_group_id=CLUSTER_SECURITY_GROUP_PLACEHOLDER)]


def _device_plugin(config: PlatformConfig) -> list[PartInstance[DevicePluginArgs]]:
    # EKS Auto Mode's GPU nodes run AWS's device plugin: a second one would advertise every GPU twice.
    if config.auto_mode:
        return []
    return _section("device-plugin", DevicePluginArgs, config.device_plugin, config, pool_sharing=_pool_sharing(config))


IN_CLUSTER_PARTS: tuple[InClusterPart[Any], ...] = (
    InClusterPart(
        key="priorityClasses", component="PriorityClasses", args_model=PriorityClassesArgs,
        instances=lambda c: _one("priority", _with(PriorityClassesArgs, c.priority_classes)),
        build=lambda a: build_priority_classes(a, IsolationContract()),
    ),
    InClusterPart(
        key="tenants", component="WorkloadNamespaces", args_model=WorkloadNamespacesArgs,
        instances=lambda c: _one("tenants", WorkloadNamespacesArgs(tenants=c.tenants, isolation=c.isolation)),
        build=lambda a: build_tenants(a.tenants, a.isolation.contract()),
    ),
    InClusterPart(
        key="devicePlugin", component="DevicePlugin", args_model=DevicePluginArgs,
        instances=_device_plugin,
        build=lambda a: build_device_plugin(a, a.isolation.contract(), a.pool_sharing),
    ),
    InClusterPart(
        key="metricsServer", component="MetricsServer", args_model=MetricsServerArgs,
        instances=lambda c: _section("metrics-server", MetricsServerArgs, c.metrics_server, c,
                                     kubernetes_version=cluster_kubernetes_version(c)),
        build=lambda a: build_metrics_server(a, a.isolation.contract(), kubernetes_version=a.kubernetes_version),
    ),
    InClusterPart(
        key="nodeAgent", component="NodeAgent", args_model=NodeAgentArgs,
        instances=lambda c: _section("node-agent", NodeAgentArgs, c.node_agent_deployed, c,
                                     mig_strategy=platform_mig_strategy([p.sharing for p in c.node_pools]),
                                     # Auto Mode's Bottlerocket nodes ignore NVIDIA_VISIBLE_DEVICES unprivileged.
                                     device_list_strategy="volume-mounts" if c.auto_mode else "envvar"),
        build=lambda a: build_node_agent(a, a.isolation.contract(), mig_strategy=a.mig_strategy,
                                         device_list_strategy=a.device_list_strategy),
    ),
    # Not offered alone (no args model): its component also declares AWS resources (IAM, the interruption
    # queue) from the cluster's outputs, so only a platform on EKS declares it.
    InClusterPart(
        key=KARPENTER, component="Karpenter", args_model=None,
        instances=_karpenter, build=karpenter_objects,
    ),
    # Not offered alone either: its component declares the node role and access entry it names.
    InClusterPart(
        key=AUTO_MODE, component="AutoModeNodeClass", args_model=None,
        instances=lambda c: _one(AUTO_MODE, c if c.auto_mode else None), build=auto_mode_objects,
    ),
    InClusterPart(
        key="nodePools", component="ElasticNodePool", args_model=ElasticNodePoolArgs,
        instances=_elastic_pools, build=_build_elastic_pool,
        after=("devicePlugin", "nodeAgent", "karpenter", AUTO_MODE),
    ),
    InClusterPart(
        key="alerts", component="Monitoring", args_model=MonitoringArgs,
        instances=lambda c: _one("monitoring", _with(MonitoringArgs, c.alerts, node_agent=c.node_agent)
                                 if c.alerts.prometheus_rule or c.alerts.pod_monitor else None),
        build=lambda a: build_monitoring(a, a.node_agent),
    ),
)



# Every component's args model, for the package schema: the whole platform, a managed node group, and each
# in-cluster part's component.
COMPONENT_ARGS: Mapping[str, type[BaseModel]] = {
    "GpuPlatform": PlatformConfig,
    "NodePool": NodePoolArgs,
    **{p.component: p.args_model for p in IN_CLUSTER_PARTS if p.args_model is not None},
}


def part(key: str) -> InClusterPart[Any]:
    """The part read from stack-file key `key`."""
    return next(p for p in IN_CLUSTER_PARTS if p.key == key)


def in_cluster_objects(config: PlatformConfig) -> list[dict[str, Any]]:
    """Every object of the in-cluster layer, sorted for apply. Parts that are off contribute nothing."""
    objects = [obj for p in IN_CLUSTER_PARTS for obj in p.objects(config)]
    rank = {kind: i for i, kind in enumerate(APPLY_ORDER)}
    return sorted(objects, key=lambda o: rank.get(o["kind"], len(APPLY_ORDER)))


def default_node_class_ref(config: PlatformConfig, pool: NodePoolConfig | None = None) -> dict[str, str]:
    """The NodeClass elastic pools (or `pool`) boot from unless they name one: the EKS layer's EC2NodeClass on EKS
    (a MIG pool's own copy of it, `mig_node_classes`), the Auto Mode NodeClass on eks-auto; on an existing cluster,
    the KWOKNodeClass the local cluster installs (scripts/cluster.sh)."""
    if config.auto_mode:
        return dict(AUTO_NODE_CLASS_REF)
    if not config.on_eks:
        return dict(KWOK_NODE_CLASS_REF)
    if pool is not None and pool.mig_gpu() is not None:
        return {**EC2_NODE_CLASS_REF, "name": mig_node_class_name(pool.name)}
    return dict(EC2_NODE_CLASS_REF)


def object_id(obj: dict[str, Any]) -> str:
    """`Kind/namespace/name` (or `Kind/name` for cluster-scoped objects): unique within a stack."""
    meta = obj["metadata"]
    return "/".join(p for p in (obj["kind"], meta.get("namespace"), meta["name"]) if p)
