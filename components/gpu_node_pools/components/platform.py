"""`GpuPlatform`: the cluster, its node pools and the whole in-cluster layer, from one `PlatformConfig`."""

from __future__ import annotations

from pathlib import Path

import pulumi

from ..aws.bottlerocket import bottlerocket_nvidia_settings
from ..config.cluster import EksClusterConfig
from ..config.platform import PlatformConfig, cluster_kubernetes_version
from ..manifests.in_cluster import default_node_class_ref, in_cluster_objects
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
from ._live_node_groups import live_desired_sizes
from .cluster import Cluster
from .karpenter import Karpenter, KarpenterArgs
from .node_pool import NodePool, NodePoolArgs

__all__ = ["GpuPlatform"]


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
        super().__init__("gpu-node-pools:index:GpuPlatform", name, None, opts)
        contract = config.contract
        self.cluster = Cluster(
            name,
            config.cluster,
            pulumi.ResourceOptions(parent=self),
            project_root=project_root,
            enforce_network_policy=_declares_network_policies(config),
        )

        self.node_pools = []
        if isinstance(config.cluster, EksClusterConfig):
            assert self.cluster.name is not None
            bottlerocket_settings = bottlerocket_nvidia_settings(config.device_plugin, config.node_agent)
            live_sizes = live_desired_sizes(config.cluster.name) if config.managed_pools else {}
            self.node_pools = [
                NodePool(
                    f"{name}-{pool.name}",
                    NodePoolArgs(
                        pool=pool,
                        contract=contract,
                        cluster_name=self.cluster.name,
                        subnet_ids=config.cluster.subnet_ids,
                        kubernetes_version=config.cluster.version,
                        bottlerocket_settings=bottlerocket_settings,
                        live_desired_size=live_sizes.get(pool.name),
                    ),
                    # Nodes join only once the CNI (and what else they need) is in place.
                    pulumi.ResourceOptions(parent=self, depends_on=self.cluster.compute_dependencies),
                )
                # Elastic pools are Karpenter NodePools, declared with the in-cluster layer (ElasticPools).
                for pool in config.managed_pools
            ]
        on_nodes = self.cluster.add_post_compute_addons(after=self.node_pools)
        self.karpenter = self._karpenter(name, config, after=[*self.node_pools, *on_nodes])

        # In-cluster objects wait for the node pools and CoreDNS: Deployments need nodes before they can become ready.
        in_cluster = pulumi.ResourceOptions(
            parent=self, provider=self.cluster.provider, depends_on=[*self.node_pools, *on_nodes]
        )
        self.priority_classes = PriorityClasses(f"{name}-priority", AddonArgs(config.priority_classes, contract), in_cluster)
        self.tenants = WorkloadNamespaces(f"{name}-tenants", AddonArgs(config.tenants, contract), in_cluster)
        self.device_plugin = (
            DevicePlugin(f"{name}-device-plugin", AddonArgs(config.device_plugin, contract), in_cluster)
            if config.device_plugin.enabled else None
        )
        self.metrics_server = (
            MetricsServer(
                f"{name}-metrics-server",
                MetricsServerArgs(config.metrics_server, contract, cluster_kubernetes_version(config)),
                in_cluster,
            )
            if config.metrics_server.enabled else None
        )
        self.node_agent = (
            NodeAgent(f"{name}-node-agent", AddonArgs(config.node_agent, contract), in_cluster)
            if config.node_agent.enabled else None
        )
        # Last, as in the apply order: the DaemonSets bound for an elastic pool's nodes exist before its first node.
        after_daemons = pulumi.ResourceOptions(
            parent=self, provider=self.cluster.provider,
            depends_on=[
                *self.node_pools, *on_nodes, *(c for c in (self.device_plugin, self.node_agent) if c),
                # On EKS the NodePools boot from Karpenter's EC2NodeClass, which waits for the controller and CRDs.
                *([self.karpenter.node_class] if self.karpenter else []),
            ],
        )
        self.elastic_pools = (
            ElasticPools(
                f"{name}-elastic-pools",
                ElasticPoolsArgs(config.node_pools, contract, default_node_class_ref(config)),
                after_daemons,
            )
            if config.elastic_pools else None
        )
        self.monitoring = (
            Monitoring(f"{name}-monitoring", MonitoringArgs(config.alerts, contract, config.node_agent), in_cluster)
            if config.alerts.prometheus_rule or config.alerts.pod_monitor else None
        )
        self.register_outputs({
            "cluster_name": self.cluster.name,
            "node_group_names": [p.node_group_name for p in self.node_pools],
            "elastic_pool_names": [p.name for p in config.elastic_pools],
            "gpu_taint": str(contract.gpu_taint),
        })

    def _karpenter(self, name: str, config: PlatformConfig, after: list[pulumi.Resource]) -> Karpenter | None:
        """Karpenter on an EKS stack that enables it; its controller waits for the node groups and CoreDNS."""
        if not (config.karpenter.enabled and isinstance(config.cluster, EksClusterConfig)):
            return None
        cluster = self.cluster
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
            pulumi.ResourceOptions(parent=self, providers=[cluster.provider]),
        )


def _declares_network_policies(config: PlatformConfig) -> bool:
    """Whether the in-cluster layer holds a NetworkPolicy (a default-deny tenant): the CNI must then enforce it."""
    return any(obj["kind"] == "NetworkPolicy" for obj in in_cluster_objects(config))
