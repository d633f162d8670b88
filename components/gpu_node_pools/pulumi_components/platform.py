"""`GpuPlatform`: the cluster, its node pools and the whole in-cluster layer, from one `PlatformConfig`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pulumi

from ..aws.bottlerocket import bottlerocket_nvidia_settings
from ..config.cluster import EksClusterConfig
from ..config.platform import PlatformConfig, cluster_kubernetes_version
from ..manifests.in_cluster import default_node_class_ref, in_cluster_objects
from ._live_node_groups import live_desired_sizes
from .addons import (
    AddonArgs,
    DevicePlugin,
    ElasticPools,
    ElasticPoolsArgs,
    MetricsServer,
    MetricsServerArgs,
    Monitoring,
    MonitoringArgs,
    NodeAgent,
    PriorityClasses,
    WorkloadNamespaces,
)
from .cluster import Cluster
from .karpenter import Karpenter, KarpenterArgs
from .node_pool import NodePool, NodePoolArgs

__all__ = ["PLATFORM_TYPE", "GpuPlatform", "PlatformParts", "declare_platform"]

PLATFORM_TYPE = "gpu-node-pools:index:GpuPlatform"


@dataclass
class PlatformParts:
    """The components `declare_platform` declared. Disabled parts are None."""

    cluster: Cluster
    node_pools: list[NodePool]
    karpenter: Karpenter | None
    priority_classes: PriorityClasses
    tenants: WorkloadNamespaces
    device_plugin: DevicePlugin | None
    metrics_server: MetricsServer | None
    node_agent: NodeAgent | None
    elastic_pools: ElasticPools | None
    monitoring: Monitoring | None

    @property
    def object_ids(self) -> list[str]:
        """`Kind/namespace/name` of every in-cluster object, across the in-cluster components."""
        parts = (self.priority_classes, self.tenants, self.device_plugin, self.metrics_server, self.node_agent,
                 self.elastic_pools, self.monitoring)
        return sorted(object_id for part in parts if part for object_id in part.object_ids)


class GpuPlatform(pulumi.ComponentResource):
    """Composes every component. Disabled parts are None, and so are their outputs."""

    cluster: Cluster
    node_pools: list[NodePool]
    device_plugin: DevicePlugin | None
    metrics_server: MetricsServer | None
    node_agent: NodeAgent | None
    karpenter: Karpenter | None
    elastic_pools: ElasticPools | None

    def __init__(
        self,
        name: str,
        config: PlatformConfig,
        opts: pulumi.ResourceOptions | None = None,
        *,
        project_root: Path | None = None,
    ) -> None:
        super().__init__(PLATFORM_TYPE, name, None, opts)
        parts = declare_platform(self, name, config, project_root=project_root)
        self.cluster, self.node_pools, self.karpenter = parts.cluster, parts.node_pools, parts.karpenter
        self.priority_classes, self.tenants = parts.priority_classes, parts.tenants
        self.device_plugin, self.metrics_server, self.node_agent = (
            parts.device_plugin, parts.metrics_server, parts.node_agent)
        self.elastic_pools, self.monitoring = parts.elastic_pools, parts.monitoring
        self.register_outputs({
            "cluster_name": self.cluster.name,
            "node_group_names": [p.node_group_name for p in self.node_pools],
            "elastic_pool_names": [p.name for p in config.elastic_pools],
            "gpu_taint": str(config.contract.gpu_taint),
        })


def declare_platform(
    parent: pulumi.ComponentResource, name: str, config: PlatformConfig, *, project_root: Path | None = None
) -> PlatformParts:
    """Declares the cluster, its pools and the in-cluster layer as children of `parent` (the Python GpuPlatform,
    or the package's, which takes its config as TypedDicts), in the order they must come up."""
    contract = config.contract
    cluster = Cluster(
        name,
        config.cluster,
        pulumi.ResourceOptions(parent=parent),
        project_root=project_root,
        enforce_network_policy=_declares_network_policies(config),
    )

    node_pools: list[NodePool] = []
    if isinstance(config.cluster, EksClusterConfig):
        assert cluster.name is not None
        bottlerocket_settings = bottlerocket_nvidia_settings(config.device_plugin, config.node_agent)
        live_sizes = live_desired_sizes(config.cluster.name) if config.managed_pools else {}
        node_pools = [
            NodePool(
                f"{name}-{pool.name}",
                NodePoolArgs(
                    pool=pool,
                    contract=contract,
                    cluster_name=cluster.name,
                    subnet_ids=config.cluster.subnet_ids,
                    kubernetes_version=config.cluster.version,
                    bottlerocket_settings=bottlerocket_settings,
                    live_desired_size=live_sizes.get(pool.name),
                ),
                # Nodes join only once the CNI (and what else they need) is in place.
                pulumi.ResourceOptions(parent=parent, depends_on=cluster.compute_dependencies),
            )
            # Elastic pools are Karpenter NodePools, declared with the in-cluster layer (ElasticPools).
            for pool in config.managed_pools
        ]
    on_nodes = cluster.add_post_compute_addons(after=node_pools)
    karpenter = _karpenter(parent, name, cluster, config, after=[*node_pools, *on_nodes])

    # In-cluster objects wait for the node pools and CoreDNS: Deployments need nodes before they can become ready.
    in_cluster = pulumi.ResourceOptions(parent=parent, provider=cluster.provider, depends_on=[*node_pools, *on_nodes])
    priority_classes = PriorityClasses(f"{name}-priority", AddonArgs(config.priority_classes, contract), in_cluster)
    tenants = WorkloadNamespaces(f"{name}-tenants", AddonArgs(config.tenants, contract), in_cluster)
    device_plugin = (
        DevicePlugin(f"{name}-device-plugin", AddonArgs(config.device_plugin, contract), in_cluster)
        if config.device_plugin.enabled else None
    )
    metrics_server = (
        MetricsServer(
            f"{name}-metrics-server",
            MetricsServerArgs(config.metrics_server, contract, cluster_kubernetes_version(config)),
            in_cluster,
        )
        if config.metrics_server.enabled else None
    )
    node_agent = (
        NodeAgent(f"{name}-node-agent", AddonArgs(config.node_agent, contract), in_cluster)
        if config.node_agent.enabled else None
    )
    # Last, as in the apply order: the DaemonSets bound for an elastic pool's nodes exist before its first node.
    after_daemons = pulumi.ResourceOptions(
        parent=parent, provider=cluster.provider,
        depends_on=[
            *node_pools, *on_nodes, *(c for c in (device_plugin, node_agent) if c),
            # On EKS the NodePools boot from Karpenter's EC2NodeClass, which waits for the controller and CRDs.
            *([karpenter.node_class] if karpenter else []),
        ],
    )
    elastic_pools = (
        ElasticPools(
            f"{name}-elastic-pools",
            ElasticPoolsArgs(config.node_pools, contract, default_node_class_ref(config)),
            after_daemons,
        )
        if config.elastic_pools else None
    )
    monitoring = (
        Monitoring(f"{name}-monitoring", MonitoringArgs(config.alerts, contract, config.node_agent), in_cluster)
        if config.alerts.prometheus_rule or config.alerts.pod_monitor else None
    )
    return PlatformParts(cluster, node_pools, karpenter, priority_classes, tenants, device_plugin, metrics_server,
                         node_agent, elastic_pools, monitoring)


def _karpenter(
    parent: pulumi.ComponentResource, name: str, cluster: Cluster, config: PlatformConfig, after: list[pulumi.Resource]
) -> Karpenter | None:
    """Karpenter on an EKS stack that enables it; its controller waits for the node groups and CoreDNS."""
    if not (config.karpenter.enabled and isinstance(config.cluster, EksClusterConfig)):
        return None
    assert cluster.name is not None and cluster.arn is not None and cluster.security_group_id is not None
    return Karpenter(
        f"{name}-karpenter",
        KarpenterArgs(
            config=config.karpenter,
            cluster=config.cluster,
            cluster_name=cluster.name,
            cluster_arn=cluster.arn,
            cluster_security_group_id=cluster.security_group_id,
            pod_identity_agent=cluster.addons.get("eks-pod-identity-agent"),
            controller_after=after,
        ),
        pulumi.ResourceOptions(parent=parent, providers=[cluster.provider]),
    )


def _declares_network_policies(config: PlatformConfig) -> bool:
    """Whether the in-cluster layer holds a NetworkPolicy (a default-deny tenant): the CNI must then enforce it."""
    return any(obj["kind"] == "NetworkPolicy" for obj in in_cluster_objects(config))
