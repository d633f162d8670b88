"""MIG as GFD labels it (k8s-device-plugin `internal/lm/mig-strategy.go`), under the strategy the device plugin
is configured with (`--mig-strategy`), never one guessed from the layout: the labels must describe the resources
the plugin actually offers.

- `none`: no MIG label; MIG-enabled GPUs count as GPUs (the plugin offers them whole);
- `single`: the node's MIG devices are its `nvidia.com/gpu`: `gpu.product` is `<product>-MIG-<profile>`,
  `gpu.count` the MIG device count, `gpu.memory` one device's MiB. A layout the plugin rejects (a MIG-enabled GPU
  without devices, MIG-enabled beside MIG-disabled GPUs, or more than one profile) gives GFD's
  `<product>-MIG-INVALID` with count and memory 0; no MIG-enabled GPU at all: only `mig.strategy`;
- `mixed`: the GPU keys stay the physical GPUs'; each profile gets `mig-<profile>.count` and `.memory`
  (a MIG-enabled GPU without devices is ignored).
A profile is written as GFD names the MIG device: `1g.10gb+me` becomes `1g.10gb.me`.
"""

from __future__ import annotations

from collections import Counter

from ..snapshot import GpuSnapshot, MigSnapshot, NodeSnapshot
from ._format import label_value

__all__ = ["MIG_STRATEGIES", "mig_facts", "profile_name"]

MIB = 1024 * 1024
MIG_STRATEGIES = ("none", "single", "mixed")


def profile_name(profile: str) -> str:
    """GFD's MIG device name: `+` (media-engine profiles, `1g.10gb+me`) is not allowed in labels, so `.`."""
    return profile.replace("+", ".")


def _readable(snapshot: NodeSnapshot) -> list[GpuSnapshot]:
    return [gpu for gpu in snapshot.gpus if not gpu.lost]


def _devices(gpus: list[GpuSnapshot]) -> list[MigSnapshot]:
    return [mig for gpu in gpus for mig in gpu.mig_devices]


def mig_facts(snapshot: NodeSnapshot, p: str, product: str | None, strategy: str) -> dict[str, str | None]:
    """MIG labels; under `single`, also the `gpu.product|count|memory` that replace the physical GPU's."""
    if strategy == "none":
        return {}
    gpus = _readable(snapshot)
    labels: dict[str, str | None] = {f"{p}mig.strategy": strategy}
    if strategy == "single":
        labels.update(_single(gpus, p, product))
    else:
        labels.update(_mixed(_devices(gpus), p))
    return labels


def _single(gpus: list[GpuSnapshot], p: str, product: str | None) -> dict[str, str | None]:
    enabled = [gpu for gpu in gpus if gpu.mig_enabled]
    if not enabled:
        return {}  # as GFD: `single` without MIG-enabled GPUs is `none`
    devices = _devices(gpus)
    profiles = {profile_name(d.profile) for d in devices}
    valid = all(gpu.mig_devices for gpu in enabled) and len(enabled) == len(gpus) and len(profiles) == 1
    if not valid:
        return {
            f"{p}gpu.product": label_value(f"{product}-MIG-INVALID") if product else None,
            f"{p}gpu.count": "0",
            f"{p}gpu.memory": "0",
        }
    first = devices[0]
    labels: dict[str, str | None] = {
        f"{p}gpu.product": label_value(f"{product}-MIG-{profile_name(first.profile)}") if product else None,
        f"{p}gpu.count": str(len(devices)),
    }
    if first.memory_total_bytes is not None:
        labels[f"{p}gpu.memory"] = str(first.memory_total_bytes // MIB)
    return labels


def _mixed(devices: list[MigSnapshot], p: str) -> dict[str, str | None]:
    labels: dict[str, str | None] = {}
    for profile, count in sorted(Counter(profile_name(d.profile) for d in devices).items()):
        key = f"{p}mig-{profile}"
        labels[f"{key}.count"] = str(count)
        memory = next(d.memory_total_bytes for d in devices if profile_name(d.profile) == profile)
        if memory is not None:
            labels[f"{key}.memory"] = str(memory // MIB)
    return labels
