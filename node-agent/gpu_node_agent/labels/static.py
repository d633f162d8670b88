"""Static facts, GFD-compatible in meaning and format: product, count, memory, family, compute capability,
driver and CUDA versions, MIG capability, and MIG devices as GFD labels them (`mig.py`, under the configured MIG
strategy). Node-wide facts come from the first readable GPU, as GFD does; `mig.capable` is true when any GPU is.

A read that met errors does not take facts away: what it could not read comes from the last clean read
(`ctx.last_good`), as GFD keeps its last labels when a relabel fails. Only health says the read failed."""

from __future__ import annotations

from ..snapshot import GpuSnapshot, NodeSnapshot
from ._context import LabelContext
from ._format import label_value, sanitize_product
from .mig import mig_facts

__all__ = ["FAMILIES", "family", "static_labels"]

MIB = 1024 * 1024

# (compute major, lowest minor) -> architecture family, GFD's table (k8s-device-plugin internal/lm).
FAMILIES: tuple[tuple[int, int, str], ...] = (
    (1, 0, "tesla"),
    (2, 0, "fermi"),
    (3, 0, "kepler"),
    (5, 0, "maxwell"),
    (6, 0, "pascal"),
    (7, 0, "volta"),
    (7, 5, "turing"),
    (8, 0, "ampere"),
    (8, 9, "ada-lovelace"),
    (9, 0, "hopper"),
    (10, 0, "blackwell"),
    (12, 0, "blackwell"),
    (13, 0, "rubin"),
)


def family(major: int, minor: int) -> str:
    """The architecture family of a compute capability; `undefined` as GFD writes for unknown ones."""
    found = "undefined"
    for fam_major, fam_minor, name in FAMILIES:
        if fam_major == major and minor >= fam_minor:
            found = name
    return found


def _first_readable(snapshot: NodeSnapshot) -> GpuSnapshot | None:
    return next((g for g in snapshot.gpus if not g.lost and g.name), None)


def static_labels(snapshot: NodeSnapshot, ctx: LabelContext, mig_strategy: str = "none") -> dict[str, str]:
    """`mig_strategy`: the device plugin's (`none`, `single`, `mixed`); `sources.label_sources` binds it."""
    if snapshot.healthy or ctx.last_good is None:
        return _facts(snapshot, ctx.prefix, mig_strategy)
    # The MIG layout too comes from the last clean read: a lost GPU's MIG devices still count.
    return {
        **_facts(ctx.last_good, ctx.prefix, mig_strategy),
        **_facts(snapshot, ctx.prefix, mig_strategy, mig_layout=ctx.last_good),
    }


def _facts(snapshot: NodeSnapshot, p: str, mig_strategy: str, mig_layout: NodeSnapshot | None = None) -> dict[str, str]:
    gpu = _first_readable(snapshot)
    if snapshot.error is not None or gpu is None:
        return {}
    raw: dict[str, str | None] = {
        f"{p}gpu.product": sanitize_product(gpu.name),
        f"{p}gpu.count": str(len(snapshot.gpus)),
    }
    if gpu.memory_total_bytes is not None:
        raw[f"{p}gpu.memory"] = str(gpu.memory_total_bytes // MIB)
    if gpu.compute_capability is not None:
        major, minor = gpu.compute_capability
        raw.update(
            {
                f"{p}gpu.family": family(major, minor),
                f"{p}gpu.compute.major": str(major),
                f"{p}gpu.compute.minor": str(minor),
            }
        )
    capable = [g.mig_capable for g in snapshot.gpus if not g.lost and g.mig_capable is not None]
    if capable:
        raw[f"{p}mig.capable"] = str(any(capable)).lower()
    raw.update(mig_facts(mig_layout or snapshot, p, raw[f"{p}gpu.product"], mig_strategy))
    raw.update(_driver_labels(p, snapshot.driver_version))
    raw.update(_cuda_labels(p, snapshot.cuda_driver_version))
    return {key: value for key, value in raw.items() if value is not None}


def _driver_labels(p: str, version: str | None) -> dict[str, str | None]:
    """`550.54.15` -> major/minor/revision/full, GFD's `cuda.driver-version.*`."""
    if not version:
        return {}
    parts = version.split(".")
    labels: dict[str, str | None] = {f"{p}cuda.driver-version.full": label_value(version)}
    for name, part in zip(("major", "minor", "revision"), parts):
        labels[f"{p}cuda.driver-version.{name}"] = label_value(part)
    return labels


def _cuda_labels(p: str, version: int | None) -> dict[str, str | None]:
    """NVML's 12040 -> 12 / 4 / `12.4`, GFD's `cuda.runtime-version.*`."""
    if version is None:
        return {}
    major, minor = version // 1000, (version % 1000) // 10
    return {
        f"{p}cuda.runtime-version.major": str(major),
        f"{p}cuda.runtime-version.minor": str(minor),
        f"{p}cuda.runtime-version.full": f"{major}.{minor}",
    }
