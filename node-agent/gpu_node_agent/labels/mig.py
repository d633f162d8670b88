"""MIG as GFD labels it (k8s-device-plugin `internal/lm/mig-strategy.go`), the strategy inferred from the layout.

- `single`: every GPU is MIG-enabled with devices of one profile; the node then offers those devices as its GPUs,
  so `gpu.product` is `<product>-MIG-<profile>`, `gpu.count` the MIG device count, `gpu.memory` one device's MiB;
- `mixed`: any other layout with MIG devices; the GPU keys stay the physical GPU's, and each profile gets
  `mig-<profile>.count` and `mig-<profile>.memory`;
- no MIG device: no MIG label but `mig.capable` (static).
The device plugin's `--mig-strategy` should match: the agent reads the layout, it does not set it.
"""

from __future__ import annotations

from collections import Counter

from ..snapshot import MigSnapshot, NodeSnapshot
from ._format import label_value

__all__ = ["mig_facts", "mig_strategy"]

MIB = 1024 * 1024


def _devices(snapshot: NodeSnapshot) -> list[MigSnapshot]:
    return [mig for gpu in snapshot.gpus if not gpu.lost for mig in gpu.mig_devices]


def mig_strategy(snapshot: NodeSnapshot) -> str | None:
    devices = _devices(snapshot)
    if not devices:
        return None
    all_mig = all(gpu.mig_enabled and gpu.mig_devices for gpu in snapshot.gpus if not gpu.lost)
    return "single" if all_mig and len({d.profile for d in devices}) == 1 else "mixed"


def _profile_key(profile: str) -> str:
    # `1g.10gb+me` (a profile with media engines): `+` is not allowed in a label key.
    return profile.replace("+", ".")


def mig_facts(snapshot: NodeSnapshot, p: str, product: str | None) -> dict[str, str | None]:
    """MIG labels; under `single`, also the `gpu.product|count|memory` that replace the physical GPU's."""
    strategy = mig_strategy(snapshot)
    if strategy is None:
        return {}
    devices = _devices(snapshot)
    labels: dict[str, str | None] = {f"{p}mig.strategy": strategy}
    if strategy == "single":
        first = devices[0]
        labels[f"{p}gpu.product"] = label_value(f"{product}-MIG-{first.profile}") if product else None
        labels[f"{p}gpu.count"] = str(len(devices))
        if first.memory_total_bytes is not None:
            labels[f"{p}gpu.memory"] = str(first.memory_total_bytes // MIB)
        return labels
    for profile, count in sorted(Counter(d.profile for d in devices).items()):
        key = f"{p}mig-{_profile_key(profile)}"
        labels[f"{key}.count"] = str(count)
        memory = next(d.memory_total_bytes for d in devices if d.profile == profile)
        if memory is not None:
            labels[f"{key}.memory"] = str(memory // MIB)
    return labels
