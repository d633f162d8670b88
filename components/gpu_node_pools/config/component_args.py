"""What each component takes, as pydantic models: a config model plus the keys a lone component needs.

These are the one definition of every component's args. The TypedDicts of the same names
(`pulumi_components/args.py`, from which Pulumi infers the package schema) are generated from them.

A component receives its args either as one of these models (Python programs) or as a dict of Python names
(`capacity_type`) holding Enum members (what Pulumi's provider hands a component called from another language).
`validate_args` turns such a dict back into stack-file spelling (`capacityType`, plain strings) and validates it
with the model, so a bad value gets the same message as in a stack file, named by the key the caller wrote:
`DevicePlugin "gpu" args: resources.cpu: ...`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any, Literal, TypeVar, get_args

from pydantic import BaseModel, Field, ValidationError, model_validator

from ..config._model import ConfigModel, key_errors, models_in
from ..config.alerts import AlertsConfig
from ..config.device_plugin import DevicePluginConfig
from ..config.isolation import FENCE_KEY, IsolationConfig
from ..config.metrics_server import MetricsServerConfig
from ..config.node_agent import NODE_AGENT_IMAGE_REQUIRED, DeviceListStrategy, NodeAgentConfig, device_list_problem
from ..config.node_pool import NodePoolConfig
from ..config.platform import validate_config
from ..config.priority_classes import PriorityLadderConfig
from ..config.sharing import SharingConfig
from ..config.tenants import TenantNamespaceConfig

__all__ = [
    "DevicePluginArgs",
    "ElasticNodePoolArgs",
    "MetricsServerArgs",
    "MonitoringArgs",
    "NodeAgentArgs",
    "NodePoolArgs",
    "PriorityClassesArgs",
    "WorkloadNamespacesArgs",
    "PULUMI_INPUT_STR",
    "stack_spelling",
    "validate_args",
]

ModelT = TypeVar("ModelT", bound=BaseModel)
# Marks a field whose value is a Pulumi Input (may be another resource's output); the package's TypedDict
# spells it `pulumi.Input[str]` and the model takes it as it is.
PULUMI_INPUT_STR: dict[str, Any] = {"pulumiInput": "str"}

_ISOLATION_DOC = "how GPU nodes are fenced: the GPU taint the component tolerates or keeps off"


def _isolation() -> Any:
    return Field(default_factory=IsolationConfig, description=_ISOLATION_DOC)


def _error(model: BaseModel, loc: tuple[str, ...], message: str) -> ValidationError:
    return key_errors(type(model).__name__, [(loc, message)])


class DevicePluginArgs(DevicePluginConfig):
    """The stack file's `devicePlugin` keys, the isolation contract, and the GPU pools' sharing."""

    isolation: IsolationConfig = _isolation()
    pool_sharing: dict[str, SharingConfig] = Field(
        default_factory=dict,
        description="each shared GPU pool's sharing by its config name (the pool's name; its nodes carry "
                    "nvidia.com/device-plugin.config=<name>); a platform fills it from its nodePools",
    )


class MetricsServerArgs(MetricsServerConfig):
    """The stack file's `metricsServer` keys, the isolation contract and the cluster's version."""

    isolation: IsolationConfig = _isolation()
    kubernetes_version: str | None = Field(
        default=None, description="the cluster's Kubernetes minor version (picks a metrics-server release that "
                                  "supports it); unset: the default release")


class PriorityClassesArgs(PriorityLadderConfig):
    """The stack file's `priorityClasses` keys."""


class WorkloadNamespacesArgs(ConfigModel):
    """The stack file's `tenants` list, and the isolation contract."""

    tenants: list[TenantNamespaceConfig] = Field(description="tenant namespaces with guardrails")
    isolation: IsolationConfig = _isolation()


class NodeAgentArgs(NodeAgentConfig):
    """The stack file's `nodeAgent` keys, the isolation contract, the MIG pools' strategy, and how the agent asks
    the NVIDIA runtime for GPUs (the cluster mode's)."""

    isolation: IsolationConfig = _isolation()
    mig_strategy: Literal["none", "single", "mixed"] = Field(
        default="none", description="the MIG strategy the agent labels MIG devices by (the device plugin's); a "
                                    "platform sets its MIG pools' strategy")
    device_list_strategy: DeviceListStrategy = Field(
        default="envvar", description="how the agent asks the NVIDIA runtime for the GPUs NVML sees: envvar "
        "(NVIDIA_VISIBLE_DEVICES; AL2023 NVIDIA nodes, the GPU Operator) or volume-mounts (a read-only /dev/null "
        "hostPath per device under /var/run/nvidia-container-devices, which Bottlerocket's runtime accepts from an "
        "unprivileged pod; enforces the privileged Pod Security level on its namespace, warn/audit stay "
        "restricted); a platform sets volume-mounts under cluster.mode eks-auto")

    @model_validator(mode="after")
    def _image_named(self) -> NodeAgentArgs:
        if self.enabled and self.image is None and self.image_build is not None:
            # A build folder is relative to a project, which only the stack program and the CLI know.
            raise _error(self, ("imageBuild",), "a lone NodeAgent takes nodeAgent.image (the pushed image), not a "
                                                "build folder")
        if self.enabled and self.image is None:
            raise _error(self, ("image",), NODE_AGENT_IMAGE_REQUIRED)
        return self

    @model_validator(mode="after")
    def _devices_mountable(self) -> NodeAgentArgs:
        problem = device_list_problem(self.nvidia_visible_devices, self.device_list_strategy)
        if problem:
            raise _error(self, ("nvidiaVisibleDevices",), problem)
        return self


class MonitoringArgs(AlertsConfig):
    """The stack file's `alerts` keys, and where the node agent runs."""

    node_agent: NodeAgentConfig = Field(
        default_factory=NodeAgentConfig, description="where the node agent runs (namespace, port), as deployed")


class ElasticNodePoolArgs(NodePoolConfig):
    """One `nodePools` entry with an `elastic` block, and the isolation contract."""

    isolation: IsolationConfig = _isolation()

    @model_validator(mode="after")
    def _elastic(self) -> ElasticNodePoolArgs:
        if self.elastic is None:
            raise _error(self, ("elastic",), "an ElasticNodePool needs its elastic block (limits at least); "
                                             "a managed node group is a NodePool")
        problem = self.isolation.elastic_fence_problem([self.name] if self.is_gpu else [])
        if problem:
            raise _error(self, FENCE_KEY, problem)
        return self


class NodePoolArgs(NodePoolConfig):
    """One `nodePools` entry (a managed node group), the isolation contract and the cluster it joins."""

    isolation: IsolationConfig = _isolation()
    # Another resource's output (an EKS cluster's name) as often as not: no model can look inside it.
    cluster_name: Any = Field(description="the EKS cluster the node group joins", json_schema_extra=PULUMI_INPUT_STR)

    @model_validator(mode="after")
    def _managed(self) -> NodePoolArgs:
        if self.elastic is not None:
            raise _error(self, ("elastic",), "an elastic pool is an ElasticNodePool (a Karpenter NodePool), "
                                             "not a managed node group")
        if not self.subnet_ids:
            raise _error(self, ("subnetIds",), "a NodePool outside GpuPlatform needs the subnets its nodes go in")
        return self


def validate_args(model: type[ModelT], args: ModelT | Mapping[str, Any], source: str) -> ModelT:
    """A component's args as `model`: an instance is taken as it is (it was validated when built); a dict of
    Python names and Enum members is validated, and ConfigError names `source` and the key."""
    if isinstance(args, model):
        return args
    if isinstance(args, BaseModel):
        raise TypeError(f"{source}: expected {model.__name__} (or its dict), got {type(args).__name__}")
    return validate_config(model, stack_spelling(model, args), source)


def stack_spelling(model: type[BaseModel], values: Mapping[str, Any]) -> dict[str, Any]:
    """`values` keyed by Python names, as the stack file spells them: aliases as keys, Enum members as values.
    Keys `model` doesn't know stay as they are, for the model to report."""
    spelled: dict[str, Any] = {}
    for key, value in values.items():
        field = model.model_fields.get(key)
        spelled[field.alias or key if field else key] = _spelled(field.annotation if field else None, value)
    return spelled


def _spelled(annotation: Any, value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, list):
        return [_spelled(annotation, item) for item in value]
    if isinstance(value, Mapping):
        model = _model_for(annotation, value)
        if model is None:  # a map of the user's own keys (labels, tags)
            return {key: _spelled(None, item) for key, item in value.items()}
        return stack_spelling(model, value)
    return value


def _model_for(annotation: Any, value: Mapping[str, Any]) -> type[BaseModel] | None:
    """The model a mapping is an instance of: the only one the field names, or the union member its `mode` picks."""
    models = models_in(annotation) if annotation is not None else []
    if len(models) > 1:
        mode = value.get("mode")
        mode = mode.value if isinstance(mode, enum.Enum) else mode
        models = [m for m in models if "mode" in m.model_fields and mode in get_args(m.model_fields["mode"].annotation)]
    return models[0] if len(models) == 1 else None
