"""The `sharing` block of a GPU pool: time-slicing, MPS or MIG, checked against the pool's GPU model.

What each mechanism makes a node advertise is derived here once (`advertised_resources`), so the device plugin's
config, the simulated nodes, the local Karpenter's instance types and the NodePool's cap all agree:
- `timeSlicing` / `mps`: `nvidia.com/gpu` x replicas per GPU (pods ask for `nvidia.com/gpu: 1` and get a share);
- `mig` with strategy `single`: one `nvidia.com/gpu` per MIG device (every device the same profile);
- `mig` with strategy `mixed`: `nvidia.com/mig-<profile>` per profile, and no whole `nvidia.com/gpu`.
Profiles come from the MIG table (`facts.mig`), by the GPU model of the pool's instance types.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Literal

from pydantic import Field, field_validator, model_validator

from ..facts.instance_types import InstanceType
from ..facts.mig import MIG_GPUS, MigGpu, mig_gpu
from ._model import ConfigModel

__all__ = [
    "DEVICE_PLUGIN_CONFIG_LABEL",
    "GPU_RESOURCE",
    "GPU_SHARING_LABEL",
    "MIG_STRATEGY_LABEL",
    "MPS_MAX_REPLICAS",
    "MigConfig",
    "MpsConfig",
    "ReplicasConfig",
    "SharingConfig",
    "advertised_resources",
    "mig_strategy_problems",
    "platform_mig_strategy",
    "mig_resource_name",
    "sharing_node_labels",
    "sharing_problems",
]

GPU_RESOURCE = "nvidia.com/gpu"
# The device plugin's per-node config selector (its Helm chart's `config.map` + this label).
DEVICE_PLUGIN_CONFIG_LABEL = "nvidia.com/device-plugin.config"
# GFD's label for the MIG strategy; set from the pool, so the node agent and people read the same value.
MIG_STRATEGY_LABEL = "nvidia.com/mig.strategy"
# Which mechanism a node's GPUs are shared by (`none` on the local Karpenter's whole-GPU instance types).
GPU_SHARING_LABEL = "gpu-node-pools.io/gpu-sharing"
# CUDA MPS serves at most 48 client processes per GPU (Volta and later; CUDA MPS documentation, "Limitations").
MPS_MAX_REPLICAS = 48
_ALL = re.compile(r"^all-(?P<profile>.+)$")
_PROFILE = re.compile(r"^[0-9]+g\.[0-9]+gb(\+me)?$")

Mechanism = Literal["time-slicing", "mps", "mig"]
MigStrategy = Literal["none", "single", "mixed"]
Problems = list[tuple[tuple[str, ...], str]]


class ReplicasConfig(ConfigModel):
    """Advertise each GPU `replicas` times: pods share its time (time-slicing) or its SMs and memory (MPS)."""

    replicas: int = Field(ge=2, description="shares advertised per physical GPU, at least 2")


class MpsConfig(ReplicasConfig):
    """MPS: the GPU's compute and memory split evenly between `replicas` clients (not with MIG)."""

    replicas: int = Field(ge=2, le=MPS_MAX_REPLICAS, description="shares per GPU, 2 to 48 (MPS' client limit)")


class MigConfig(ConfigModel):
    """Split each GPU into MIG devices at node start; `layout` is the same on every GPU of the node."""

    strategy: Literal["single", "mixed"] = Field(
        description="single: every device the same profile, advertised as nvidia.com/gpu; mixed: "
                    "nvidia.com/mig-<profile> (managed pools only: Karpenter can't launch for it)"
    )
    layout: str = Field(
        description="`all-<profile>` (as many as fit, e.g. all-1g.10gb) or the profiles of one GPU, comma-separated "
                    "(e.g. 3g.40gb,4g.40gb)"
    )

    @field_validator("layout")
    @classmethod
    def _layout(cls, layout: str) -> str:
        if not all(_PROFILE.match(p) for p in layout.removeprefix("all-").split(",")) or (
                layout.startswith("all-") and "," in layout):
            raise ValueError(f"{layout!r} is not a layout: use all-<profile> (e.g. all-1g.10gb) or profiles "
                             "separated by commas (e.g. 3g.40gb,4g.40gb)")
        return layout

    def profiles_per_gpu(self, gpu: MigGpu) -> list[str]:
        """The MIG devices one GPU is split into (`all-X`: as many X as fit)."""
        match = _ALL.match(self.layout)
        if match is None:
            return self.layout.split(",")
        profile = gpu.profiles.get(match.group("profile"))
        return [match.group("profile")] * (profile.max_count if profile else 1)

    def layout_name(self) -> str:
        return self.layout


class SharingConfig(ConfigModel):
    """One way to share the pool's GPUs: exactly one of timeSlicing, mps, mig."""

    time_slicing: ReplicasConfig | None = Field(
        default=None, description="advertise each GPU `replicas` times; no memory or fault isolation between pods"
    )
    mps: MpsConfig | None = Field(
        default=None, description="CUDA MPS: `replicas` clients per GPU with an even memory and compute split"
    )
    mig: MigConfig | None = Field(
        default=None, description="MIG devices per GPU (MIG-capable models only): memory and fault isolation"
    )

    @model_validator(mode="after")
    def _one(self) -> SharingConfig:
        chosen = [key for key, value in (("timeSlicing", self.time_slicing), ("mps", self.mps), ("mig", self.mig))
                  if value is not None]
        if len(chosen) != 1:
            what = " and ".join(chosen) if chosen else "none"
            raise ValueError(f"set exactly one of timeSlicing, mps, mig (got {what})")
        return self

    @property
    def mechanism(self) -> Mechanism:
        return "time-slicing" if self.time_slicing else "mps" if self.mps else "mig"

    def describe(self) -> str:
        """One short line for tables: `time-slicing x4`, `mig mixed all-1g.10gb`."""
        if self.mig is not None:
            return f"mig {self.mig.strategy} {self.mig.layout_name()}"
        replicas = (self.time_slicing or self.mps).replicas  # type: ignore[union-attr]  # one is set
        return f"{self.mechanism} x{replicas}"


def mig_resource_name(profile: str) -> str:
    """The device plugin's resource for a profile under the mixed strategy (`+me` becomes `.me`)."""
    return f"nvidia.com/mig-{profile.replace('+', '.')}"


def advertised_resources(sharing: SharingConfig | None, gpus: int, gpu_model: str) -> dict[str, int]:
    """What a node with `gpus` GPUs of `gpu_model` advertises under `sharing`, as NVIDIA's device plugin would."""
    if sharing is None:
        return {GPU_RESOURCE: gpus}
    if sharing.mig is None:
        replicas = (sharing.time_slicing or sharing.mps).replicas  # type: ignore[union-attr]  # one is set
        return {GPU_RESOURCE: gpus * replicas}
    gpu = mig_gpu(gpu_model)
    if gpu is None:
        raise ValueError(f"{gpu_model!r} has no MIG profiles")
    profiles = sharing.mig.profiles_per_gpu(gpu)
    if sharing.mig.strategy == "single":
        return {GPU_RESOURCE: gpus * len(profiles)}
    return {mig_resource_name(name): gpus * count for name, count in Counter(profiles).items()}


def sharing_node_labels(config_name: str, sharing: SharingConfig) -> dict[str, str]:
    """The labels a shared pool's nodes carry: the device plugin config they select, the mechanism, and (MIG)
    the strategy, which the node agent and GPU Feature Discovery read as `nvidia.com/mig.strategy`."""
    labels = {DEVICE_PLUGIN_CONFIG_LABEL: config_name, GPU_SHARING_LABEL: sharing.mechanism}
    if sharing.mig is not None:
        labels[MIG_STRATEGY_LABEL] = sharing.mig.strategy
    return labels


def sharing_problems(sharing: SharingConfig, types: list[InstanceType], unknown: list[str]) -> Problems:
    """What is wrong with `sharing` on a pool of `types` (and `unknown`, type names the table lacks), each at its
    key under the pool. Only MIG depends on the GPU model."""
    mig = sharing.mig
    if mig is None:
        return []
    key = ("sharing", "mig")
    if unknown:
        return [(key, f"{', '.join(unknown)}: not in the instance-type table, so its GPU's MIG profiles are unknown")]
    capable = ", ".join(MIG_GPUS)
    models = sorted({t.gpu_model for t in types})
    no_mig = [f"{t.name} ({t.gpu_model})" for t in types if mig_gpu(t.gpu_model) is None]
    if no_mig:
        return [(key, f"{', '.join(no_mig)} can't be split with MIG; MIG-capable GPUs: {capable}")]
    if len(models) != 1:
        return [(key, f"a MIG layout fits one GPU model; this pool's types have {', '.join(models)}")]
    gpu = mig_gpu(models[0])
    assert gpu is not None
    return _layout_problems(mig, gpu)


def _layout_problems(mig: MigConfig, gpu: MigGpu) -> Problems:
    layout_key = ("sharing", "mig", "layout")
    profiles = mig.profiles_per_gpu(gpu)
    unknown = sorted({p for p in profiles if p not in gpu.profiles})
    if unknown:
        return [(layout_key, f"{', '.join(unknown)}: not a MIG profile of {gpu.model}; it has "
                             f"{', '.join(gpu.profiles)}")]
    problems: Problems = []
    for name, count in Counter(profiles).items():
        if count > gpu.profiles[name].max_count:
            problems.append((layout_key, f"{count} x {name}: at most {gpu.profiles[name].max_count} fit one {gpu.model}"))
    compute = sum(gpu.profiles[p].compute_slices for p in profiles)
    memory = sum(gpu.profiles[p].memory_slices for p in profiles)
    if compute > gpu.compute_slices or memory > gpu.memory_slices:
        problems.append((layout_key, (
            f"{', '.join(profiles)} take {compute} compute and {memory} memory slices; one {gpu.model} has "
            f"{gpu.compute_slices} and {gpu.memory_slices}")))
    if mig.strategy == "single" and len(set(profiles)) > 1:
        problems.append((("sharing", "mig", "strategy"), (
            "single advertises every MIG device as nvidia.com/gpu, so they must all be one profile; this layout "
            f"has {', '.join(sorted(set(profiles)))}: use mixed")))
    return problems


def platform_mig_strategy(sharing: list[SharingConfig | None]) -> MigStrategy:
    """The one MIG strategy the node agent labels by (its GPU_NODE_AGENT_MIG_STRATEGY): the MIG pools' strategy,
    `none` without MIG pools. One agent DaemonSet serves every GPU node, so MIG pools must agree
    (`mig_strategy_problems`); on GPUs without MIG either strategy labels whole GPUs as `none` does."""
    strategies = {s.mig.strategy for s in sharing if s is not None and s.mig is not None}
    return strategies.pop() if len(strategies) == 1 else "none"


def mig_strategy_problems(sharing: list[SharingConfig | None]) -> list[tuple[int, str]]:
    """(pool index, problem) for each MIG pool with another strategy than the first MIG pool's."""
    mig = [(i, s.mig.strategy) for i, s in enumerate(sharing) if s is not None and s.mig is not None]
    if not mig:
        return []
    first_index, first = mig[0]
    return [(i, (
        f"{strategy}, but nodePools[{first_index}] uses {first}: one node agent serves every GPU node and labels MIG "
        "devices by one strategy, so MIG pools share it")) for i, strategy in mig if strategy != first]
