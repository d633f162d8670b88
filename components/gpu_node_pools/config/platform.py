"""The whole platform's config: one model composed of each part's model, and the error that reports it.

Every check runs here, before any resource exists: pydantic collects every problem with its path, and
`ConfigError` reports them all at once, each named by its stack-file key (`gpu-node-pools:nodePools[1].scaling`)
and the file it came from.
"""

from __future__ import annotations

import difflib
import typing
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, Field, ValidationError, model_validator

from ..contract import IsolationContract
from ._model import ConfigModel, key_errors, models_in
from .alerts import AlertsConfig
from .auto_mode import auto_mode_offer_problem
from .cluster import ClusterConfig, EksAutoClusterConfig, EksClusterConfig
from .device_plugin import DevicePluginConfig
from .isolation import FENCE_KEY, IsolationConfig
from .karpenter import KarpenterConfig
from .metrics_server import MetricsServerConfig
from .node_agent import NODE_AGENT_IMAGE_REQUIRED, NodeAgentConfig, device_list_problem
from .node_pool import NodePoolConfig
from .sharing import mig_strategy_problems
from .priority_classes import PriorityLadderConfig
from .tenants import TenantNamespaceConfig

__all__ = [
    "CONFIG_NAMESPACE",
    "ConfigError",
    "PlatformConfig",
    "cluster_kubernetes_version",
    "parse_platform_config",
    "validate_config",
]

# The Pulumi project name: stack-file keys of ours are `gpu-node-pools:<key>`.
CONFIG_NAMESPACE = "gpu-node-pools"
# Discriminator values that pydantic puts into error paths of tagged unions; not keys a user wrote.
_UNION_TAGS = frozenset({"eks", "eks-auto", "existing"})
_IMAGE_BUILD_ON_EKS = (
    "EKS nodes pull the agent from a registry, not from this machine's build folder: push the image "
    "(`make image-push STACK=<stack>`) and set nodeAgent.image to the repo:tag@sha256:<digest> it prints"
)


class PlatformConfig(ConfigModel):
    """Everything one stack deploys. Each key is a stack-file key under `gpu-node-pools:`."""

    cluster: ClusterConfig = Field(description="mode eks: a new EKS cluster; mode existing: a kubeconfig")
    isolation: IsolationConfig = Field(default_factory=IsolationConfig, description="how GPU nodes are fenced")
    node_pools: list[NodePoolConfig] = Field(
        default_factory=list, description="EKS managed node groups, and elastic GPU pools (Karpenter NodePools)"
    )
    device_plugin: DevicePluginConfig = Field(default_factory=DevicePluginConfig, description="NVIDIA device plugin")
    metrics_server: MetricsServerConfig = Field(default_factory=MetricsServerConfig, description="metrics-server")
    priority_classes: PriorityLadderConfig = Field(
        default_factory=PriorityLadderConfig, description="priority ladder for GPU work"
    )
    tenants: list[TenantNamespaceConfig] = Field(default_factory=list, description="tenant namespaces with guardrails")
    node_agent: NodeAgentConfig = Field(default_factory=NodeAgentConfig, description="the NVML node agent")
    karpenter: KarpenterConfig = Field(
        default_factory=KarpenterConfig, description="Karpenter (EKS): controller, EC2NodeClass, interruption queue"
    )
    alerts: AlertsConfig = Field(
        default_factory=AlertsConfig, description="Prometheus alert rules and scrape objects for nodes and GPUs"
    )

    @model_validator(mode="before")
    @classmethod
    def _auto_mode_offers_the_pools_instances(cls, data: Any) -> Any:
        """Under eks-auto, an instance family or type EKS Auto Mode never launches is refused by its key; before the
        pools are parsed, so this, not the instance-type table's "unknown family", is what the user reads."""
        if not isinstance(data, Mapping):
            return data
        cluster = data.get("cluster")
        if not isinstance(cluster, Mapping) or cluster.get("mode") != "eks-auto":
            return data
        problems: list[tuple[tuple[str | int, ...], str]] = []
        pools = data.get("nodePools", data.get("node_pools"))
        for i, pool in enumerate(pools if isinstance(pools, list) else []):
            elastic = pool.get("elastic") if isinstance(pool, Mapping) else None
            if not isinstance(elastic, Mapping):
                continue  # a managed pool is refused under eks-auto anyway (_nothing_auto_mode_runs)
            families = _raw(elastic, "instanceFamilies", "instance_families")
            types = _raw(pool, "instanceTypes", "instance_types")
            for key, names in ((("elastic", "instanceFamilies"), families), (("instanceTypes",), types)):
                why = [w for n in names if isinstance(n, str) and (w := auto_mode_offer_problem(n))]
                if why:
                    problems.append((("nodePools", i, *key), f"pool {pool.get('name')!r}: {'; '.join(why)}"))
        if problems:
            raise key_errors(cls.__name__, problems)  # type: ignore[arg-type]
        return data

    @model_validator(mode="after")
    def _unique_names(self) -> PlatformConfig:
        for what, names in (
            ("node pool", [p.name for p in self.node_pools]),
            ("tenant namespace", [t.name for t in self.tenants]),
        ):
            duplicates = sorted({n for n in names if names.count(n) > 1})
            if duplicates:
                raise ValueError(f"duplicate {what} names: {', '.join(duplicates)}")
        return self

    @model_validator(mode="after")
    def _one_mig_strategy(self) -> PlatformConfig:
        problems = mig_strategy_problems([p.sharing for p in self.node_pools])
        if problems:
            raise key_errors(type(self).__name__, [
                (("nodePools", index, "sharing", "mig", "strategy"), message)  # type: ignore[misc]  # an index
                for index, message in problems])
        return self

    @model_validator(mode="after")
    def _elastic_fence_holds(self) -> PlatformConfig:
        problem = self.isolation.elastic_fence_problem([p.name for p in self.elastic_pools if p.is_gpu])
        if problem:
            raise key_errors(type(self).__name__, [(FENCE_KEY, problem)])
        return self

    @model_validator(mode="after")
    def _node_agent_image_named(self) -> PlatformConfig:
        # Here rather than in NodeAgentConfig: an absent `nodeAgent` key is a default, and its error needs a key.
        agent = self.node_agent
        if agent.enabled and agent.image is None and agent.image_build is None:
            raise key_errors(type(self).__name__, [(("nodeAgent", "image"), NODE_AGENT_IMAGE_REQUIRED)])
        if agent.image_build is not None and self.on_eks:
            # EKS nodes pull from a registry; a digest that only this machine's build folder holds pulls nothing.
            raise key_errors(type(self).__name__, [(("nodeAgent", "imageBuild"), _IMAGE_BUILD_ON_EKS)])
        return self

    @model_validator(mode="after")
    def _nothing_auto_mode_runs(self) -> PlatformConfig:
        """On an eks-auto cluster AWS runs Karpenter, the device plugin and the add-ons: declaring ours beside them
        would run two of each (two Karpenters racing for the same pods), so every such key is refused by name."""
        if not isinstance(self.cluster, EksAutoClusterConfig):
            return self
        problems: list[tuple[tuple[str | int, ...], str]] = []
        if self.karpenter.enabled:
            problems.append((("karpenter", "enabled"), "EKS Auto Mode runs Karpenter itself (eks-auto): leave karpenter "
                                                        "out; elastic pools become Auto Mode NodePools"))
        if "addons" in self.cluster.model_fields_set:
            problems.append((("cluster", "addons"), "EKS Auto Mode runs vpc-cni, kube-proxy and CoreDNS itself: no "
                                                    "managed add-ons are declared under eks-auto"))
        plugin = self.device_plugin
        if plugin.time_slicing is not None:
            problems.append((("devicePlugin", "timeSlicing"), "EKS Auto Mode's NVIDIA device plugin is AWS's and can't "
                             "be configured: GPU sharing (time-slicing) is not available under eks-auto"))
        elif "enabled" in plugin.model_fields_set and plugin.enabled:
            problems.append((("devicePlugin", "enabled"), "EKS Auto Mode ships the NVIDIA device plugin on its GPU "
                             "nodes: a second one would advertise every GPU twice; leave devicePlugin out"))
        for i, pool in enumerate(self.node_pools):
            if pool.sharing is not None:
                problems.append((("nodePools", i, "sharing"), (
                    f"pool {pool.name!r}: EKS Auto Mode's NVIDIA device plugin is AWS's and can't be configured: "
                    "GPU sharing (time-slicing, MPS, MIG) is not available under eks-auto")))
            if not pool.is_elastic:
                problems.append((("nodePools", i, "elastic"), (
                    f"pool {pool.name!r}: under eks-auto every pool is an Auto Mode NodePool; give it an elastic "
                    "block instead of scaling (a managed node group would need the vpc-cni, kube-proxy and CoreDNS "
                    "add-ons Auto Mode replaces)")))
        devices = device_list_problem(self.node_agent.nvidia_visible_devices, "volume-mounts")
        if self.node_agent.enabled and devices:
            problems.append((("nodeAgent", "nvidiaVisibleDevices"), devices))
        if problems:
            raise key_errors(type(self).__name__, problems)  # type: ignore[arg-type]
        return self

    @model_validator(mode="after")
    def _karpenter_has_a_home(self) -> PlatformConfig:
        # Karpenter's controller must not run on nodes it manages: it lives on a general managed node group.
        karpenter = self.karpenter
        loc: tuple[str, ...] = ("karpenter", "enabled")
        problem = None
        if not karpenter.enabled:
            elastic = [p.name for p in self.elastic_pools]
            if elastic and isinstance(self.cluster, EksClusterConfig) and not self.auto_mode:
                # On EKS nothing would launch an elastic pool's nodes: its GPU pods would stay Pending forever.
                problem = (f"the elastic pools {', '.join(elastic)} need Karpenter on this EKS stack: set "
                           "karpenter.enabled: true (or give the pools scaling instead of elastic)")
                raise key_errors(type(self).__name__, [(loc, problem)])
            return self
        # Only managed general pools count: an elastic general pool's nodes are Karpenter's own.
        general = [p for p in self.managed_pools if p.kind == "general"]
        general_min = sum(p.node_scaling.min for p in general)
        if not isinstance(self.cluster, EksClusterConfig):
            problem = ("Karpenter is installed on EKS stacks only (cluster.mode: eks); a local cluster runs its own "
                       "kwok Karpenter")
        elif not general:
            problem = ("Karpenter's controller runs on a general managed node pool (never on a node it launches): add "
                       "a nodePools entry of kind general with scaling")
        elif karpenter.controller.replicas > general_min:
            # Required anti-affinity: one replica per node, so a replica without a node of its own stays Pending.
            loc = ("karpenter", "controller", "replicas")
            problem = (f"{karpenter.controller.replicas} controller replicas need as many general nodes (one per "
                       f"node), but the general pools' scaling.min adds up to {general_min}")
        if problem:
            raise key_errors(type(self).__name__, [(loc, problem)])
        return self

    @property
    def contract(self) -> IsolationContract:
        return self.isolation.contract()

    @property
    def managed_pools(self) -> list[NodePoolConfig]:
        """The pools that are EKS managed node groups (locally: simulated nodes)."""
        return [p for p in self.node_pools if not p.is_elastic]

    @property
    def elastic_pools(self) -> list[NodePoolConfig]:
        """The pools (GPU or general) that are Karpenter NodePools."""
        return [p for p in self.node_pools if p.is_elastic]

    @property
    def node_agent_deployed(self) -> NodeAgentConfig:
        """`nodeAgent` as deployed: on EKS with the node monitoring agent add-on, that add-on alone writes the repair
        condition (two writers would flap it), so the node agent neither writes nor may write it."""
        agent = self.node_agent
        if isinstance(self.cluster, EksClusterConfig) and self.cluster.addons.enabled("eks-node-monitoring-agent"):
            repair = agent.node_repair.model_copy(update={"enabled": False})
            return agent.model_copy(update={"node_repair": repair})
        return agent

    @property
    def on_eks(self) -> bool:
        """A new EKS cluster, in either eks mode (eks-auto included)."""
        return isinstance(self.cluster, EksClusterConfig)

    @property
    def auto_mode(self) -> bool:
        """A new EKS cluster in Auto Mode: AWS runs Karpenter, the device plugin and the core add-ons."""
        return isinstance(self.cluster, EksAutoClusterConfig)


def _raw(data: Mapping[str, Any], key: str, name: str) -> list[Any]:
    """A list as given, under its stack-file key or its Python name (component args); [] when it is neither."""
    value = data.get(key, data.get(name))
    return value if isinstance(value, list) else []


def cluster_kubernetes_version(config: PlatformConfig) -> str | None:
    """The cluster's Kubernetes version when this stack creates the cluster; unknown for an existing one."""
    return config.cluster.version if isinstance(config.cluster, EksClusterConfig) else None


class ConfigError(ValueError):
    """Bad stack config: every problem, each named by its key, and the file it came from."""

    def __init__(self, source: str, problems: list[tuple[str, str]]) -> None:
        self.source = source
        self.problems = problems
        lines = [f"{key}: {message}" if key else message for key, message in problems]
        if len(lines) == 1:
            text = f"{source}: {lines[0]}"
        else:
            text = f"{source}: {len(lines)} problems\n" + "\n".join(f"  {line}" for line in lines)
        super().__init__(text)


def parse_platform_config(values: Mapping[str, Any], source: str) -> PlatformConfig:
    """Validate un-namespaced config `values` (e.g. {"nodePools": [...]}) read from `source`."""
    return validate_config(PlatformConfig, values, source, namespace=CONFIG_NAMESPACE)


ModelT = typing.TypeVar("ModelT", bound=BaseModel)


def validate_config(model: type[ModelT], values: Mapping[str, Any], source: str, *, namespace: str = "") -> ModelT:
    """Validate `values` (stack-file spelling) against `model`; a ConfigError names every bad key (`namespace:`
    before each, as stack files spell them) and `source`."""
    try:
        return model.model_validate(dict(values))
    except ValidationError as error:
        raise ConfigError(source, [_describe(e, model, namespace) for e in error.errors()]) from None


def _describe(error: Any, root: type[BaseModel], namespace: str) -> tuple[str, str]:
    key = namespace + ":" if error["loc"] and namespace else ""
    parts: list[str] = []
    for i, part in enumerate(error["loc"]):
        if isinstance(part, int):
            parts.append(f"[{part}]")
        elif part in _UNION_TAGS and i > 0 and error["loc"][i - 1] == "cluster":
            continue
        else:
            parts.append(("." if parts else "") + str(part))
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "unknown key" + _did_you_mean(error["loc"], root)
    elif error["type"] == "missing":
        message = "required key is missing"
    elif error["type"] in ("literal_error", "enum"):
        message = f"{error['input']!r} is not allowed: {message.lower()}"
    return key + "".join(parts), message


def _did_you_mean(loc: tuple[Any, ...], root: type[BaseModel]) -> str:
    """`; did you mean 'memoryUsedRatio'?` for a misspelt key, from the keys its model knows."""
    models: list[type[BaseModel]] = [root]
    for part in loc[:-1]:
        if isinstance(part, int) or part in _UNION_TAGS:
            continue
        models = [
            m for model in models for name, f in model.model_fields.items() if part in (name, f.alias)
            for m in models_in(f.annotation)
        ]
    known = [f.alias or name for model in models for name, f in model.model_fields.items()]
    close = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""
