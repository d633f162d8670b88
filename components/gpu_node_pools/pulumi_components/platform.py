"""`GpuPlatform`: the cluster, its node pools and the whole in-cluster layer, from one config."""

# No `from __future__ import annotations`: Pulumi's schema inference reads these annotations at runtime.

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, Union

import pulumi

from .. import parts
from ..aws.bottlerocket import bottlerocket_nvidia_settings
from ..config.cluster import EksAutoClusterConfig, EksClusterConfig
from ..config.component_args import NodePoolArgs, validate_args
from ..config.platform import PlatformConfig
from . import args as typed
from ..aws.nodegroup import LiveNodeGroup, protected_replacement_problem, replacing_changes
from ._live_node_groups import live_node_groups
from .auto_mode import AutoModeNodeClass
from .cluster import Cluster
from .in_cluster import IN_CLUSTER_COMPONENTS, ElasticNodePool, component_source
from .karpenter import Karpenter, KarpenterArgs
from .node_pool import NodePool

__all__ = ["PLATFORM_TYPE", "GpuPlatform", "PlatformParts", "declare_platform"]

PLATFORM_TYPE = parts.type_token("GpuPlatform")

if TYPE_CHECKING:
    # The config model or its TypedDict for a type checker; the TypedDict alone at runtime (the package schema).
    PlatformInput = Union[typed.PlatformConfig, PlatformConfig]
else:
    PlatformInput = typed.PlatformConfig

# Before elastic pools had a component each, one `ElasticPools` component held all their NodePools.
_FORMER_ELASTIC_PARENT = ("elastic-pools", parts.type_token("ElasticPools"))


@dataclass
class PlatformParts:
    """The components `declare_platform` declared: the cluster, its managed node groups, and per in-cluster part
    (by stack-file key, in `parts.IN_CLUSTER_PARTS` order) the components of that part ([] when it is off)."""

    cluster: Cluster
    node_pools: list[NodePool]
    in_cluster: dict[str, list[pulumi.ComponentResource]] = field(default_factory=dict)

    def one(self, key: str) -> Optional[pulumi.ComponentResource]:
        """The component of a part that has at most one (None when the part is off)."""
        components = self.in_cluster.get(key, [])
        return components[0] if components else None

    @property
    def object_ids(self) -> pulumi.Output[list[str]]:
        """`Kind/namespace/name` of every in-cluster object, across the in-cluster components."""
        ids = [c.object_ids for components in self.in_cluster.values() for c in components]  # type: ignore[attr-defined]
        return pulumi.Output.all(*ids).apply(lambda lists: sorted(i for ids in lists for i in ids))


class GpuPlatform(pulumi.ComponentResource):
    """The whole platform from one config, keyed like a stack file: the cluster (a new EKS cluster, or an existing
    one through its kubeconfig), its node pools and the in-cluster layer."""

    cluster_name: Optional[pulumi.Output[str]]
    """the EKS cluster's name (mode eks)"""
    cluster_arn: Optional[pulumi.Output[str]]
    """the EKS cluster's ARN (mode eks)"""
    kubeconfig: Optional[pulumi.Output[str]]
    """a kubeconfig for the new cluster (mode eks; a secret)"""
    node_group_names: pulumi.Output[list[str]]
    """the EKS managed node groups' names"""
    elastic_pool_names: pulumi.Output[list[str]]
    """the elastic GPU pools (Karpenter NodePools)"""
    gpu_taint: pulumi.Output[str]
    """the GPU taint, as key=value:Effect"""
    object_ids: pulumi.Output[list[str]]
    """`Kind/namespace/name` of each in-cluster Kubernetes object"""

    def __init__(
        self,
        name: str,
        args: PlatformInput,
        opts: Optional[pulumi.ResourceOptions] = None,
        *,
        project_root: Optional[Path] = None,
    ) -> None:
        """`project_root`: where a relative `cluster.kubeconfig` path is resolved from (default: the working
        directory)."""
        super().__init__(PLATFORM_TYPE, name, None, opts)
        config = validate_args(PlatformConfig, args, component_source(self, name))
        self.parts = declare_platform(self, name, config, project_root=project_root)
        self.cluster, self.node_pools = self.parts.cluster, self.parts.node_pools
        self.karpenter = self.parts.one(parts.KARPENTER)
        self.device_plugin = self.parts.one("devicePlugin")
        self.metrics_server = self.parts.one("metricsServer")
        self.node_agent = self.parts.one("nodeAgent")
        self.monitoring = self.parts.one("alerts")
        self.elastic_node_pools = self.parts.in_cluster.get("nodePools", [])

        self.cluster_name, self.cluster_arn = self.cluster.name, self.cluster.arn
        self.kubeconfig = pulumi.Output.secret(self.cluster.kubeconfig) if self.cluster.kubeconfig else None
        self.node_group_names = pulumi.Output.all(*(p.node_group_name for p in self.node_pools)).apply(list)
        self.elastic_pool_names = pulumi.Output.from_input([p.name for p in config.elastic_pools])
        self.gpu_taint = pulumi.Output.from_input(str(config.contract.gpu_taint))
        self.object_ids = self.parts.object_ids
        self.register_outputs({
            "cluster_name": self.cluster_name, "cluster_arn": self.cluster_arn, "kubeconfig": self.kubeconfig,
            "node_group_names": self.node_group_names, "elastic_pool_names": self.elastic_pool_names,
            "gpu_taint": self.gpu_taint, "object_ids": self.object_ids,
        })


def declare_platform(
    parent: pulumi.ComponentResource, name: str, config: PlatformConfig, *, project_root: Optional[Path] = None
) -> PlatformParts:
    """Declares the cluster, its pools and the in-cluster layer as children of `parent`, in the order they must
    come up: the in-cluster parts after the node pools and CoreDNS (Deployments need nodes to become ready), each
    after the parts it names in `after`."""
    live = _live_groups_checked(config)  # before any resource: a protected pool's replacement stops here
    cluster = Cluster(
        name,
        config.cluster,
        pulumi.ResourceOptions(parent=parent),
        project_root=project_root,
        enforce_network_policy=_declares_network_policies(config),
    )
    node_pools = _managed_node_pools(parent, name, cluster, config, live)
    on_nodes = cluster.add_post_compute_addons(after=node_pools)

    declared = PlatformParts(cluster, node_pools)
    for part in parts.IN_CLUSTER_PARTS:
        after = [*node_pools, *on_nodes, *(c for key in part.after for c in declared.in_cluster.get(key, []))]
        declared.in_cluster[part.key] = [
            _in_cluster_component(parent, name, part, instance, cluster, config, after)
            for instance in part.instances(config)
        ]
    return declared


def _live_groups_checked(config: PlatformConfig) -> dict[str, LiveNodeGroup]:
    """The live node groups of an EKS stack's managed pools; raises when a protected pool would be replaced.
    (An eks-auto stack has no managed pools.)"""
    if not (isinstance(config.cluster, EksClusterConfig) and config.managed_pools):
        return {}
    live = live_node_groups(config.cluster.name)
    problems = [
        problem for pool in config.managed_pools if pool.name in live
        if (problem := protected_replacement_problem(
            pool, replacing_changes(pool, live[pool.name], config.cluster.subnet_ids)))
    ]
    if problems:
        raise pulumi.RunError("\n".join(problems))
    return live


def _managed_node_pools(
    parent: pulumi.ComponentResource, name: str, cluster: Cluster, config: PlatformConfig,
    live: dict[str, LiveNodeGroup],
) -> list[NodePool]:
    """One NodePool per managed pool of an EKS cluster (elastic pools are in-cluster parts)."""
    if not isinstance(config.cluster, EksClusterConfig):
        return []
    eks = config.cluster
    bottlerocket_settings = bottlerocket_nvidia_settings(config.device_plugin, config.node_agent)
    return [
        NodePool(
            f"{name}-{pool.name}",
            NodePoolArgs(**{
                **{key: getattr(pool, key) for key in pool.model_fields_set},
                "isolation": config.isolation,
                "cluster_name": cluster.name,
                "subnet_ids": pool.subnet_ids or eks.subnet_ids,
                "kubernetes_version": pool.kubernetes_version or eks.version,
            }),
            # Nodes join only once the CNI (and what else they need) is in place.
            pulumi.ResourceOptions(parent=parent, depends_on=cluster.compute_dependencies),
            bottlerocket_settings=bottlerocket_settings,
            live_desired_size=live[pool.name].desired if pool.name in live else None,
        )
        for pool in config.managed_pools
    ]


def _in_cluster_component(
    parent: pulumi.ComponentResource,
    name: str,
    part: parts.InClusterPart[Any],
    instance: parts.PartInstance[Any],
    cluster: Cluster,
    config: PlatformConfig,
    after: list[pulumi.Resource],
) -> pulumi.ComponentResource:
    child_name = f"{name}-{instance.suffix}"
    if part.key == parts.KARPENTER:
        return _karpenter(parent, child_name, cluster, config, after)
    if part.key == parts.AUTO_MODE:
        assert isinstance(config.cluster, EksAutoClusterConfig)
        assert cluster.auto_node_role_name is not None and cluster.security_group_id is not None
        return AutoModeNodeClass(
            child_name, config.cluster, node_role_name=cluster.auto_node_role_name,
            security_group_id=cluster.security_group_id, after=after,
            opts=pulumi.ResourceOptions(parent=parent, provider=cluster.provider),
        )
    opts = pulumi.ResourceOptions(parent=parent, provider=cluster.provider, depends_on=after)
    component = IN_CLUSTER_COMPONENTS[part.key]
    if component is ElasticNodePool:
        suffix, token = _FORMER_ELASTIC_PARENT
        former = pulumi.resource.create_urn(f"{name}-{suffix}", token, parent=parent)
        return ElasticNodePool(child_name, instance.args, opts, previous_parent=former)
    return component(child_name, instance.args, opts)


def _karpenter(
    parent: pulumi.ComponentResource, name: str, cluster: Cluster, config: PlatformConfig,
    after: list[pulumi.Resource],
) -> Karpenter:
    """Karpenter on EKS; its controller waits for the node groups and CoreDNS."""
    assert isinstance(config.cluster, EksClusterConfig)
    assert cluster.name is not None and cluster.arn is not None and cluster.security_group_id is not None
    return Karpenter(
        name,
        KarpenterArgs(
            config=config.karpenter,
            cluster=config.cluster,
            cluster_name=cluster.name,
            cluster_arn=cluster.arn,
            cluster_security_group_id=cluster.security_group_id,
            pod_identity_agent=cluster.addons.get("eks-pod-identity-agent"),
            controller_after=after,
            elastic_pools=config.elastic_pools,
        ),
        pulumi.ResourceOptions(parent=parent, providers=[cluster.provider]),
    )


def _declares_network_policies(config: PlatformConfig) -> bool:
    """Whether the in-cluster layer holds a NetworkPolicy (a default-deny tenant): the CNI must then enforce it."""
    return any(obj["kind"] == "NetworkPolicy" for obj in parts.in_cluster_objects(config))
