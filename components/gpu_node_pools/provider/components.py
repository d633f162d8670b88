"""The package's components: what a TypeScript, Go or YAML program gets from `pulumi package add`.

Each takes its args as a TypedDict that mirrors the stack-file keys (the generated `config_types`, plus what a
lone component needs: the isolation contract, a cluster name), validates them with the config models (the same
errors as a stack file, before any resource is declared) and declares the same children as the Python components,
under the same type tokens. Outputs are plain typed values: names, ARNs, the GPU taint, and the
`Kind/namespace/name` ids of the Kubernetes objects.
"""

# No `from __future__ import annotations`: Pulumi's schema inference reads these annotations at runtime.

from collections.abc import Mapping
from typing import Any, Optional

import pulumi

from ..aws.bottlerocket import bottlerocket_nvidia_settings
from ..config.device_plugin import DevicePluginConfig as DevicePluginModel
from ..config.isolation import IsolationConfig as IsolationModel
from ..config.node_agent import NodeAgentConfig as NodeAgentModel
from ..config.platform import PlatformConfig as PlatformModel
from ..manifests.device_plugin import build_device_plugin
from ..manifests.karpenter import EKS_NODE_CLASS_REF, build_node_pools
from ..manifests.metrics_server import build_metrics_server
from ..alerts.operator import build_monitoring
from ..manifests.node_agent import build_node_agent
from ..manifests.priority_classes import build_priority_classes
from ..manifests.tenants import build_tenants
from ..pulumi_components._k8s_resources import declare_objects
from ..pulumi_components.node_pool import NODE_POOL_TYPE, declare_node_group
from ..pulumi_components.node_pool import NodePoolArgs as PythonNodePoolArgs
from ..pulumi_components.platform import PLATFORM_TYPE, declare_platform
from . import inputs
from .args import (
    DevicePluginArgs,
    ElasticNodePoolArgs,
    MetricsServerArgs,
    MonitoringArgs,
    NodeAgentArgs,
    NodePoolArgs,
    PlatformConfig,
    PriorityClassesArgs,
    WorkloadNamespacesArgs,
)

__all__ = [
    "COMPONENTS",
    "DevicePlugin",
    "ElasticNodePool",
    "GpuPlatform",
    "MetricsServer",
    "Monitoring",
    "NodeAgent",
    "NodePool",
    "PriorityClasses",
    "WorkloadNamespaces",
]

def _source(component: pulumi.ComponentResource, name: str) -> str:
    """Where a component's bad args came from, for ConfigError: `DevicePlugin 'gpu' args`."""
    return f"{type(component).__name__} {name!r} args"


class _Objects(pulumi.ComponentResource):
    """Declares the Kubernetes objects of one builder, like the Python in-cluster components. (Each subclass
    declares `object_ids` itself: the schema takes a property's description from the class that declares it.)"""

    object_ids: pulumi.Output[list[str]]

    def _declare(self, objects: list[dict[str, Any]], outputs: Mapping[str, Any] | None = None) -> None:
        self.object_ids = pulumi.Output.from_input(sorted(declare_objects(objects, self)))
        self.register_outputs({"object_ids": self.object_ids, **(outputs or {})})


class DevicePlugin(_Objects):
    """NVIDIA's device plugin DaemonSet: on GPU nodes only, tolerating the GPU taint."""

    object_ids: pulumi.Output[list[str]]
    """`Kind/namespace/name` of each Kubernetes object the component declares"""
    gpu_taint: pulumi.Output[str]
    """the GPU taint the DaemonSet tolerates, as key=value:Effect"""

    def __init__(self, name: str, args: DevicePluginArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("gpu-node-pools:index:DevicePlugin", name, None, opts)
        config = inputs.validate_args(inputs.DevicePluginArgs, args, _source(self, name))
        contract = config.isolation.contract()
        self.gpu_taint = pulumi.Output.from_input(str(contract.gpu_taint))
        self._declare(build_device_plugin(config, contract), {"gpu_taint": self.gpu_taint})


class MetricsServer(_Objects):
    """metrics-server (so `kubectl top` works), kept off GPU nodes."""

    object_ids: pulumi.Output[list[str]]
    """`Kind/namespace/name` of each Kubernetes object the component declares"""

    def __init__(self, name: str, args: MetricsServerArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("gpu-node-pools:index:MetricsServer", name, None, opts)
        config = inputs.validate_args(inputs.MetricsServerArgs, args, _source(self, name))
        self._declare(build_metrics_server(config, config.isolation.contract(),
                                           kubernetes_version=config.kubernetes_version))


class PriorityClasses(_Objects):
    """The priority ladder for GPU work and a general default."""

    object_ids: pulumi.Output[list[str]]
    """`Kind/namespace/name` of each Kubernetes object the component declares"""

    def __init__(self, name: str, args: PriorityClassesArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("gpu-node-pools:index:PriorityClasses", name, None, opts)
        config = inputs.validate_args(inputs.PriorityClassesArgs, args, _source(self, name))
        self._declare(build_priority_classes(config, IsolationModel().contract()))


class WorkloadNamespaces(_Objects):
    """Tenant namespaces with guardrails: LimitRange defaults, quota, Pod Security, optional default-deny."""

    object_ids: pulumi.Output[list[str]]
    """`Kind/namespace/name` of each Kubernetes object the component declares"""

    def __init__(
        self, name: str, args: WorkloadNamespacesArgs, opts: Optional[pulumi.ResourceOptions] = None
    ) -> None:
        super().__init__("gpu-node-pools:index:WorkloadNamespaces", name, None, opts)
        config = inputs.validate_args(inputs.WorkloadNamespacesArgs, args, _source(self, name))
        self._declare(build_tenants(config.tenants, config.isolation.contract()))


class NodeAgent(_Objects):
    """The NVML node agent DaemonSet, its RBAC and its per-node admission policy."""

    object_ids: pulumi.Output[list[str]]
    """`Kind/namespace/name` of each Kubernetes object the component declares"""
    gpu_taint: pulumi.Output[str]
    """the GPU taint the DaemonSet tolerates, as key=value:Effect"""
    namespace: pulumi.Output[str]
    """the namespace the agent runs in"""

    def __init__(self, name: str, args: NodeAgentArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("gpu-node-pools:index:NodeAgent", name, None, opts)
        config = inputs.validate_args(inputs.NodeAgentArgs, args, _source(self, name))
        contract = config.isolation.contract()
        self.gpu_taint = pulumi.Output.from_input(str(contract.gpu_taint))
        self.namespace = pulumi.Output.from_input(config.namespace)
        self._declare(build_node_agent(config, contract), {"gpu_taint": self.gpu_taint, "namespace": self.namespace})


class Monitoring(_Objects):
    """prometheus-operator objects: the alert rules as a PrometheusRule, a PodMonitor for the agent (each only
    when its key is true). The cluster needs prometheus-operator's CRDs."""

    object_ids: pulumi.Output[list[str]]
    """`Kind/namespace/name` of each Kubernetes object the component declares"""

    def __init__(self, name: str, args: MonitoringArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("gpu-node-pools:index:Monitoring", name, None, opts)
        config = inputs.validate_args(inputs.MonitoringArgs, args, _source(self, name))
        self._declare(build_monitoring(config, config.node_agent))


class ElasticNodePool(_Objects):
    """An elastic GPU pool: a Karpenter NodePool carrying the GPU taint, scaled from zero to its GPU cap by demand.
    The cluster needs Karpenter and the NodeClass the pool names (default: the EC2NodeClass `gpu-node-pools`)."""

    object_ids: pulumi.Output[list[str]]
    """`Kind/namespace/name` of each Kubernetes object the component declares"""
    node_pool_name: pulumi.Output[str]
    """the Karpenter NodePool's name"""
    gpu_taint: pulumi.Output[str]
    """the taint the pool's nodes carry, as key=value:Effect"""

    def __init__(self, name: str, args: ElasticNodePoolArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("gpu-node-pools:index:ElasticNodePool", name, None, opts)
        pool = inputs.validate_args(inputs.ElasticNodePoolArgs, args, _source(self, name))
        contract = pool.isolation.contract()
        objects = build_node_pools([pool], contract, default_node_class_ref=EKS_NODE_CLASS_REF)
        self.node_pool_name = pulumi.Output.from_input(objects[0]["metadata"]["name"])
        self.gpu_taint = pulumi.Output.from_input(str(contract.gpu_taint))
        self._declare(objects, {"node_pool_name": self.node_pool_name, "gpu_taint": self.gpu_taint})


class NodePool(pulumi.ComponentResource):
    """An EKS managed node group with its launch template and node IAM role. GPU pools carry the GPU taint; the
    desired size is left to the autoscaler after creation."""

    node_group_name: pulumi.Output[str]
    """the EKS node group's name"""
    node_role_arn: pulumi.Output[str]
    """the ARN of the nodes' IAM role"""
    launch_template_id: pulumi.Output[str]
    """the launch template's id"""
    gpu_taint: Optional[pulumi.Output[str]]
    """the GPU taint the nodes carry (GPU pools only), as key=value:Effect"""

    def __init__(self, name: str, args: NodePoolArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__(NODE_POOL_TYPE, name, None, opts)
        pool = inputs.validate_args(inputs.NodePoolArgs, args, _source(self, name))
        contract = pool.isolation.contract()
        assert pool.subnet_ids is not None  # NodePoolInputs requires them
        parts = declare_node_group(self, name, PythonNodePoolArgs(
            pool=pool,
            contract=contract,
            cluster_name=pool.cluster_name,
            subnet_ids=pool.subnet_ids,
            kubernetes_version=pool.kubernetes_version,
            # Bottlerocket NVIDIA pools get the settings of the default device plugin and node agent.
            bottlerocket_settings=bottlerocket_nvidia_settings(DevicePluginModel(), NodeAgentModel()),
        ))
        self.node_group_name = parts.node_group.node_group_name
        self.node_role_arn = parts.node_role_arn
        self.launch_template_id = parts.launch_template.id
        self.gpu_taint = pulumi.Output.from_input(str(contract.gpu_taint)) if pool.kind == "gpu" else None
        self.register_outputs({"node_group_name": self.node_group_name, "node_role_arn": self.node_role_arn,
                               "launch_template_id": self.launch_template_id, "gpu_taint": self.gpu_taint})


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

    def __init__(self, name: str, args: PlatformConfig, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__(PLATFORM_TYPE, name, None, opts)
        config = inputs.validate_args(PlatformModel, args, _source(self, name))
        parts = declare_platform(self, name, config)
        self.cluster_name, self.cluster_arn = parts.cluster.name, parts.cluster.arn
        self.kubeconfig = pulumi.Output.secret(parts.cluster.kubeconfig) if parts.cluster.kubeconfig else None
        self.node_group_names = pulumi.Output.all(*(p.node_group_name for p in parts.node_pools)).apply(list)
        self.elastic_pool_names = pulumi.Output.from_input([p.name for p in config.elastic_pools])
        self.gpu_taint = pulumi.Output.from_input(str(config.contract.gpu_taint))
        self.object_ids = pulumi.Output.from_input(parts.object_ids)
        self.register_outputs({
            "cluster_name": self.cluster_name, "cluster_arn": self.cluster_arn, "kubeconfig": self.kubeconfig,
            "node_group_names": self.node_group_names, "elastic_pool_names": self.elastic_pool_names,
            "gpu_taint": self.gpu_taint, "object_ids": self.object_ids,
        })


COMPONENTS: list[type[pulumi.ComponentResource]] = [
    GpuPlatform, NodePool, ElasticNodePool, DevicePlugin, MetricsServer, PriorityClasses, WorkloadNamespaces,
    NodeAgent, Monitoring,
]
