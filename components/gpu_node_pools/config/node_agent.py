"""The stack file's `nodeAgent` key: the NVML node agent's image, label prefix, cadence, port and scrapers."""

from __future__ import annotations

import re

from typing import Literal

from pydantic import Field, field_validator, model_validator

from ..contract import GPU_PRESENT_LABEL, POOL_LABEL
from ._model import ConfigModel
from .fields import ContainerResources, DnsLabel, TolerationConfig
from .image import ImageRepository, PinnedImage, image_repository
from .labels import RESERVED_LABEL_DOMAINS

__all__ = [
    "DEFAULT_METRICS_SCRAPERS",
    "DEFAULT_NODE_AGENT_INTERVAL_SECONDS",
    "DEFAULT_NODE_AGENT_MIN_WRITE_INTERVAL_SECONDS",
    "DEFAULT_NODE_AGENT_NAMESPACE",
    "DEFAULT_NODE_AGENT_PORT",
    "DEFAULT_NODE_AGENT_PREFIX",
    "DEFAULT_NODE_AGENT_RESOURCES",
    "DEFAULT_NODE_AGENT_SETTLE_SECONDS",
    "DeviceListStrategy",
    "NODE_AGENT_IMAGE_REQUIRED",
    "NODE_AGENT_NAME",
    "NodeAgentConfig",
    "NodeRepairConfig",
    "device_list_problem",
]

NODE_AGENT_NAME = "gpu-node-agent"
# How the agent asks the NVIDIA container runtime for the GPUs NVML sees (never the device plugin: it allocates
# nothing). The names are the device plugin's `deviceListStrategy` values for the same two channels: `envvar` sets
# NVIDIA_VISIBLE_DEVICES; `volume-mounts` mounts /dev/null at /var/run/nvidia-container-devices/<device>, which
# Bottlerocket's runtime (EKS Auto Mode's nodes) accepts from unprivileged containers and the variable not.
DeviceListStrategy = Literal["envvar", "volume-mounts"]
# As a mount, each device is a path part the toolkit reads back: `all`, an index, or a GPU or MIG UUID.
_MOUNTABLE_DEVICE = re.compile(r"^(all|[0-9]+|(GPU|MIG)-[0-9A-Za-z-]+)$")
# No image is published for you, so there is no default: a made-up one would leave the DaemonSet in
# ImagePullBackOff and `pulumi up` waiting for it (PlatformConfig reports the missing key).
NODE_AGENT_IMAGE_REQUIRED = (
    "required while the node agent is enabled, as no agent image is published: build it (`make image`), push it "
    "to a registry your nodes pull from (`make image-push STACK=<stack>` with nodeAgent.pushRepository set, or "
    ".github/workflows/node-agent-image.yml; docs/node-agent.md, Image) and set this key to the "
    "repo:tag@sha256:<digest> the push prints; or set nodeAgent.enabled: false"
)
DEFAULT_NODE_AGENT_NAMESPACE = "gpu-node-agent"
DEFAULT_NODE_AGENT_PREFIX = "node-agent.gpu-node-pools.io/"
DEFAULT_NODE_AGENT_PORT = 9402
DEFAULT_NODE_AGENT_INTERVAL_SECONDS = 15
DEFAULT_NODE_AGENT_SETTLE_SECONDS = 60  # the agent's own default (gpu_node_agent.policy)
DEFAULT_NODE_AGENT_MIN_WRITE_INTERVAL_SECONDS = 30
# Namespaces whose pods may scrape the metrics port (kube-prometheus and most charts install into `monitoring`).
DEFAULT_METRICS_SCRAPERS = ("monitoring",)
# Measured steady RSS of `gpu-node-agent run` is about 40 MiB (benchmarks/RESULTS.md); the limit leaves headroom.
# Ephemeral storage: a read-only root, so only its log, which the kubelet rotates at 5 x 10 MiB by default.
DEFAULT_NODE_AGENT_RESOURCES = ContainerResources(
    cpu="20m", memory="64Mi", cpu_limit="200m", memory_limit="128Mi",
    ephemeral_storage="32Mi", ephemeral_storage_limit="128Mi",
)
# The condition EKS' node monitoring agent writes for GPUs; Karpenter's AWS repair policy and managed node groups'
# node repair replace a node after it has been False for 10 minutes.
DEFAULT_REPAIR_CONDITION_TYPE = "AcceleratedHardwareReady"
# The kubelet writes these; a second writer would flap them.
_KUBELET_CONDITIONS = frozenset({"Ready", "MemoryPressure", "DiskPressure", "PIDPressure", "NetworkUnavailable"})
_CONDITION_TYPE = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,62}$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
# Label domains that belong to someone else: our node groups' pool labels, and GFD's.
_TAKEN_DOMAINS = (POOL_LABEL.split("/")[0], GPU_PRESENT_LABEL.split("/")[0])


class NodeRepairConfig(ConfigModel):
    """`nodeAgent.nodeRepair`: the node condition the agent sets on a lost GPU or a critical XID."""

    enabled: bool = Field(
        default=True,
        description="write the condition (and allow it: nodes/status RBAC and its admission policy); on EKS it is "
        "left to the node monitoring agent when cluster.addons.eks-node-monitoring-agent is enabled (one writer)",
    )
    condition_type: str = Field(
        default=DEFAULT_REPAIR_CONDITION_TYPE,
        description="the node condition type: AcceleratedHardwareReady (EKS, Karpenter's AWS repair policy), "
        "KWOKUnhealthy (Karpenter's kwok provider)",
    )
    unhealthy_status: Literal["True", "False"] = Field(
        default="False",
        description="the status that means unhealthy: False for AcceleratedHardwareReady, True for KWOKUnhealthy",
    )
    taint: bool = Field(
        default=False,
        description="also taint an unhealthy node `<prefix>gpu-unhealthy:NoSchedule` until it is healthy, so no new "
        "pod lands on it while it waits for repair (the admission policy then allows exactly that taint)",
    )

    @field_validator("condition_type")
    @classmethod
    def _condition_type(cls, value: str) -> str:
        if not _CONDITION_TYPE.match(value):
            raise ValueError(f"conditionType {value!r}: letters and digits, starting with a letter, at most 63")
        if value in _KUBELET_CONDITIONS:
            raise ValueError(f"conditionType {value!r} belongs to the kubelet; pick a condition of your own")
        return value

    @property
    def agent_flag(self) -> str:
        """The agent's `--repair-condition` value."""
        return f"{self.condition_type}={self.unhealthy_status}"


class NodeAgentConfig(ConfigModel):
    """The stack file's `nodeAgent` key."""

    enabled: bool = Field(default=True, description="deploy the node agent")
    namespace: DnsLabel = Field(default=DEFAULT_NODE_AGENT_NAMESPACE, description="namespace the agent owns")
    image: PinnedImage | None = Field(
        default=None,
        description="required when enabled, unless imageBuild is set (none is published): the image `make image` "
        "built and you pushed, as `repo:tag`, `repo@sha256:...` or `repo:tag@sha256:...`",
    )
    image_build: str | None = Field(
        default=None,
        min_length=1,
        description="instead of image, where the cluster is not EKS: the folder `make image` builds into "
        "(`build/image`, relative to the project folder, or absolute); the agent runs the image built there, "
        "`gpu-node-agent:<its version>@<its digest>`, which this project's stack program and `render` read from it",
    )
    push_repository: ImageRepository | None = Field(
        default=None,
        description="where `make image-push STACK=<stack>` pushes the image `make image` built (registry host and "
        "path, no tag); it prints the `image` value to set. When both are set, `image` must name this repository",
    )
    prefix: str = Field(
        default=DEFAULT_NODE_AGENT_PREFIX,
        description="label prefix the agent owns on its node (a DNS subdomain and '/'); nothing outside it is touched",
    )
    interval_seconds: int = Field(
        default=DEFAULT_NODE_AGENT_INTERVAL_SECONDS, ge=1, description="seconds between reads"
    )
    settle_seconds: int = Field(
        default=DEFAULT_NODE_AGENT_SETTLE_SECONDS,
        ge=0,
        description="how long a new live bucket must hold before it is written",
    )
    min_write_interval_seconds: int = Field(
        default=DEFAULT_NODE_AGENT_MIN_WRITE_INTERVAL_SECONDS, ge=0, description="minimum seconds between label writes"
    )
    port: int = Field(
        default=DEFAULT_NODE_AGENT_PORT, ge=1024, le=65535, description="metrics port (non-root: >= 1024)"
    )
    metrics_scrapers: list[DnsLabel] = Field(
        default_factory=lambda: list(DEFAULT_METRICS_SCRAPERS),
        description="namespaces whose pods may reach the metrics port (a NetworkPolicy); [] admits none",
    )
    gfd_labels: bool = Field(
        default=False, description="also write nvidia.com/gpu.product|count|memory, for clusters without GFD"
    )
    pod_resources: bool = Field(
        default=False,
        description="add pod/namespace/container labels to per-GPU metrics from the kubelet pod-resources API; "
        "runs the agent as root with a read-only hostPath and drops the namespace's enforced Pod Security level "
        "to privileged (warn/audit stay restricted); the image needs the gpu-node-agent[pod-resources] extra",
    )
    # EKS' NVIDIA AMIs (AL2023, Bottlerocket) make the NVIDIA runtime containerd's default and create no
    # RuntimeClass; a pod naming a RuntimeClass that doesn't exist is rejected at admission. So none by default.
    runtime_class_name: DnsLabel | None = Field(
        default=None,
        description="RuntimeClass of the NVIDIA runtime (`nvidia` with the GPU Operator); null: the node default",
    )
    nvidia_visible_devices: str = Field(default="all", description="NVIDIA_VISIBLE_DEVICES: the GPUs NVML sees")
    nvidia_driver_capabilities: str = Field(
        default="utility", description="NVIDIA_DRIVER_CAPABILITIES: `utility` is all NVML needs"
    )
    resources: ContainerResources = Field(default=DEFAULT_NODE_AGENT_RESOURCES, description="requests and limits")
    node_repair: NodeRepairConfig = Field(
        default_factory=NodeRepairConfig, description="the node condition node repair acts on (docs/node-agent.md)"
    )
    extra_tolerations: list[TolerationConfig] = Field(
        default_factory=list, description="for other taints the GPU pools carry (e.g. a spot taint)"
    )

    @model_validator(mode="after")
    def _one_image_source(self) -> NodeAgentConfig:
        if self.image and self.image_build:
            raise ValueError("set image or imageBuild, not both: each names the image the agent runs")
        return self

    @model_validator(mode="after")
    def _image_in_push_repository(self) -> NodeAgentConfig:
        if self.image and self.push_repository and image_repository(self.image) != self.push_repository:
            raise ValueError(
                f"image {self.image!r} is not in pushRepository {self.push_repository!r}: the nodes would run an "
                "image other than the one `make image-push` pushes; name the pushed image, or change pushRepository"
            )
        return self

    @field_validator("prefix")
    @classmethod
    def _own_prefix(cls, prefix: str) -> str:
        domain = prefix.removesuffix("/")
        if not prefix.endswith("/") or len(domain) > 253 or not _DNS_SUBDOMAIN.match(domain):
            raise ValueError(f"prefix {prefix!r} must be a lowercase DNS subdomain followed by '/'")
        if any(domain == d or domain.endswith("." + d) for d in RESERVED_LABEL_DOMAINS):
            raise ValueError(f"prefix {prefix!r}: kubernetes.io/ and k8s.io/ are reserved for Kubernetes")
        if domain in _TAKEN_DOMAINS:
            raise ValueError(f"prefix {prefix!r} holds labels the agent must not own; use a subdomain of your own")
        return prefix


def device_list_problem(devices: str, strategy: DeviceListStrategy) -> str | None:
    """Why `nvidiaVisibleDevices` can't be asked for under `strategy`; None when it can. As volume mounts each
    device becomes a mount path (/var/run/nvidia-container-devices/<device>): `none`, `void`, a `0:1` MIG pair or a
    path would be refused by the API server or misread by the runtime, after resources exist."""
    if strategy != "volume-mounts":
        return None
    bad = [d for d in (d.strip() for d in devices.split(",")) if not _MOUNTABLE_DEVICE.match(d)]
    if bad:
        return (f"{', '.join(map(repr, bad))}: on EKS Auto Mode the agent asks for GPUs by mount, one per device; "
                "give all, GPU indexes or GPU/MIG UUIDs")
    return None
