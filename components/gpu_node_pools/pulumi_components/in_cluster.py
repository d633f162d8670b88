"""The in-cluster components: one per part of `parts.IN_CLUSTER_PARTS` (Karpenter aside, which the platform wires).

The same classes serve Python programs and, through the component package, every other Pulumi language. Each
takes its args as the part's args model (`config/component_args.py`) or as the TypedDict generated from it
(`args.py`, what the package hands over), validates them with the model (the same errors as a stack file, before
any resource), builds its objects with the part's pure builder, and declares them with pulumi-kubernetes. Give the
Kubernetes provider through `opts`, as for any component. Outputs are plain values: the `Kind/namespace/name` of
each object, and what the component's users look for (the GPU taint, the namespace, the NodePool's name).
"""

# No `from __future__ import annotations`: Pulumi's schema inference reads these annotations at runtime.

from typing import TYPE_CHECKING, Any, Optional, Union

import pulumi

from .. import parts
from ..config import component_args as models
from ..config.component_args import validate_args
from . import args as typed
from ._k8s_resources import declare_objects

__all__ = [
    "DevicePlugin",
    "IN_CLUSTER_COMPONENTS",
    "ElasticNodePool",
    "InClusterComponent",
    "MetricsServer",
    "Monitoring",
    "NodeAgent",
    "PriorityClasses",
    "WorkloadNamespaces",
    "component_source",
]

if TYPE_CHECKING:
    # A type checker sees both forms a Python program may pass; at runtime each annotation is the TypedDict alone,
    # the form Pulumi infers the package schema from.
    DevicePluginInput = Union[typed.DevicePluginArgs, models.DevicePluginArgs]
    MetricsServerInput = Union[typed.MetricsServerArgs, models.MetricsServerArgs]
    PriorityClassesInput = Union[typed.PriorityClassesArgs, models.PriorityClassesArgs]
    WorkloadNamespacesInput = Union[typed.WorkloadNamespacesArgs, models.WorkloadNamespacesArgs]
    NodeAgentInput = Union[typed.NodeAgentArgs, models.NodeAgentArgs]
    MonitoringInput = Union[typed.MonitoringArgs, models.MonitoringArgs]
    ElasticNodePoolInput = Union[typed.ElasticNodePoolArgs, models.ElasticNodePoolArgs]
else:
    DevicePluginInput = typed.DevicePluginArgs
    MetricsServerInput = typed.MetricsServerArgs
    PriorityClassesInput = typed.PriorityClassesArgs
    WorkloadNamespacesInput = typed.WorkloadNamespacesArgs
    NodeAgentInput = typed.NodeAgentArgs
    MonitoringInput = typed.MonitoringArgs
    ElasticNodePoolInput = typed.ElasticNodePoolArgs


def component_source(component: pulumi.ComponentResource, name: str) -> str:
    """Where a component's bad args came from, for ConfigError: `DevicePlugin 'gpu' args`."""
    return f"{type(component).__name__} {name!r} args"


class InClusterComponent(pulumi.ComponentResource):
    """Declares the objects of one in-cluster part. (Each subclass declares `object_ids` itself: the schema takes
    a property's description from the class that declares it.)"""

    object_ids: pulumi.Output[list[str]]
    # The stack-file key of the part in `parts.IN_CLUSTER_PARTS` that the component declares (no annotation: Pulumi
    # would take an annotated class attribute for an output).
    part_key = ""

    def __init__(
        self, name: str, args: Any, opts: Optional[pulumi.ResourceOptions],
        previous_parent: Optional[pulumi.Input[str]] = None,
    ) -> None:
        part = parts.part(self.part_key)
        super().__init__(part.type_token, name, None, opts)
        assert part.args_model is not None
        self.config = validate_args(part.args_model, args, component_source(self, name))
        self.objects = part.build(self.config)
        self.resources = declare_objects(self.objects, self, previous_parent=previous_parent)
        self.object_ids = pulumi.Output.from_input(sorted(parts.object_id(obj) for obj in self.objects))

    def _gpu_taint(self) -> pulumi.Output[str]:
        """The taint the component's args fence GPU nodes with, as key=value:Effect."""
        return pulumi.Output.from_input(str(self.config.isolation.contract().gpu_taint))

    def _outputs(self, **outputs: Any) -> None:
        self.register_outputs({"object_ids": self.object_ids, **outputs})


class DevicePlugin(InClusterComponent):
    """NVIDIA's device plugin DaemonSet: on GPU nodes only, tolerating the GPU taint."""

    part_key = "devicePlugin"

    object_ids: pulumi.Output[list[str]]
    """`Kind/namespace/name` of each Kubernetes object the component declares"""
    gpu_taint: pulumi.Output[str]
    """the GPU taint the DaemonSet tolerates, as key=value:Effect"""

    def __init__(self, name: str, args: DevicePluginInput, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__(name, args, opts)
        self.gpu_taint = self._gpu_taint()
        self._outputs(gpu_taint=self.gpu_taint)


class MetricsServer(InClusterComponent):
    """metrics-server (so `kubectl top` works), kept off GPU nodes."""

    part_key = "metricsServer"

    object_ids: pulumi.Output[list[str]]
    """`Kind/namespace/name` of each Kubernetes object the component declares"""

    def __init__(self, name: str, args: MetricsServerInput, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__(name, args, opts)
        self._outputs()


class PriorityClasses(InClusterComponent):
    """The priority ladder for GPU work and a general default."""

    part_key = "priorityClasses"

    object_ids: pulumi.Output[list[str]]
    """`Kind/namespace/name` of each Kubernetes object the component declares"""

    def __init__(
        self, name: str, args: PriorityClassesInput, opts: Optional[pulumi.ResourceOptions] = None
    ) -> None:
        super().__init__(name, args, opts)
        self._outputs()


class WorkloadNamespaces(InClusterComponent):
    """Tenant namespaces with guardrails: LimitRange defaults, quota, Pod Security, optional default-deny."""

    part_key = "tenants"

    object_ids: pulumi.Output[list[str]]
    """`Kind/namespace/name` of each Kubernetes object the component declares"""

    def __init__(
        self, name: str, args: WorkloadNamespacesInput, opts: Optional[pulumi.ResourceOptions] = None
    ) -> None:
        super().__init__(name, args, opts)
        self._outputs()


class NodeAgent(InClusterComponent):
    """The NVML node agent DaemonSet, its RBAC and its per-node admission policy."""

    part_key = "nodeAgent"

    object_ids: pulumi.Output[list[str]]
    """`Kind/namespace/name` of each Kubernetes object the component declares"""
    gpu_taint: pulumi.Output[str]
    """the GPU taint the DaemonSet tolerates, as key=value:Effect"""
    namespace: pulumi.Output[str]
    """the namespace the agent runs in"""

    def __init__(self, name: str, args: NodeAgentInput, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__(name, args, opts)
        self.gpu_taint = self._gpu_taint()
        self.namespace = pulumi.Output.from_input(self.config.namespace)
        self._outputs(gpu_taint=self.gpu_taint, namespace=self.namespace)


class Monitoring(InClusterComponent):
    """prometheus-operator objects: the alert rules as a PrometheusRule, a PodMonitor for the agent (each only
    when its key is true). The cluster needs prometheus-operator's CRDs."""

    part_key = "alerts"

    object_ids: pulumi.Output[list[str]]
    """`Kind/namespace/name` of each Kubernetes object the component declares"""

    def __init__(self, name: str, args: MonitoringInput, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__(name, args, opts)
        self._outputs()


class ElasticNodePool(InClusterComponent):
    """An elastic pool: a Karpenter NodePool scaled from zero to its cap by demand (a GPU pool's nodes carry the GPU
    taint and have GPUs, a general pool's neither).
    The cluster needs Karpenter and the NodeClass the pool names (default: the EC2NodeClass `gpu-node-pools`)."""

    part_key = "nodePools"

    object_ids: pulumi.Output[list[str]]
    """`Kind/namespace/name` of each Kubernetes object the component declares"""
    node_pool_name: pulumi.Output[str]
    """the Karpenter NodePool's name"""
    gpu_taint: pulumi.Output[str]
    """the taint the pool's nodes carry, as key=value:Effect"""

    def __init__(
        self, name: str, args: ElasticNodePoolInput, opts: Optional[pulumi.ResourceOptions] = None, *,
        previous_parent: Optional[pulumi.Input[str]] = None,
    ) -> None:
        """`previous_parent`: the URN of the component the NodePool object was declared under before (a platform's
        former `ElasticPools`), so that an upgrade moves it instead of replacing it, which would drain its nodes."""
        super().__init__(name, args, opts, previous_parent=previous_parent)
        self.node_pool_name = pulumi.Output.from_input(self.objects[0]["metadata"]["name"])
        self.gpu_taint = self._gpu_taint()
        self._outputs(node_pool_name=self.node_pool_name, gpu_taint=self.gpu_taint)


# Each in-cluster part's component, by the part's key (Karpenter is wired by the platform itself).
IN_CLUSTER_COMPONENTS: dict[str, type[InClusterComponent]] = {
    cls.part_key: cls
    for cls in (PriorityClasses, WorkloadNamespaces, DevicePlugin, MetricsServer, NodeAgent, ElasticNodePool, Monitoring)
}
