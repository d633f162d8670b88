"""Facts about MIG (Multi-Instance GPU): which GPU models can be split, and into which profiles, as a table.

From NVIDIA's MIG User Guide, "Supported MIG Profiles"
(https://docs.nvidia.com/datacenter/tesla/mig-user-guide/supported-mig-profiles.html): a MIG-capable GPU has 7
compute slices and 8 memory slices (A30: 4 and 4); each profile takes some of each, and at most `max_count` of one
profile fit a GPU. Profile names carry the memory the model's slices add up to (`1g.10gb` on an 80 GB A100 or H100,
`1g.18gb` on an H200), so a layout is valid for one memory size only. Keyed by the GPU model names of the
instance-type table (`facts.instance_types`, as NVML reports them). Models without MIG (T4, A10G, L4, L40S) are
simply absent. The H200 and B200 names were cross-checked against AWS's sagemaker-hyperpod-cli (its p6-b200 profile
list and mig-parted configs, taken from NVIDIA's GPU Operator): 1g.23gb ... 7g.180gb, 1g.18gb and 2g.35gb.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MIG_GPUS", "MigGpu", "MigProfile", "mig_gpu"]


@dataclass(frozen=True)
class MigProfile:
    """One GPU instance profile, e.g. `1g.10gb`: its compute and memory slices, and how many fit one GPU."""

    name: str
    compute_slices: int
    memory_slices: int
    max_count: int


@dataclass(frozen=True)
class MigGpu:
    """A MIG-capable GPU model: its slices and profiles."""

    model: str
    compute_slices: int
    memory_slices: int
    profiles: dict[str, MigProfile]


def _seven_slices(model: str, gb: tuple[str, str, str, str]) -> MigGpu:
    """The A100/H100/H200/B200 family: one table shape, names from the memory of 1/8, 2/8, 4/8 and 8/8 of the GPU."""
    eighth, quarter, half, full = gb
    rows = [
        (f"1g.{eighth}gb", 1, 1, 7),
        (f"1g.{eighth}gb+me", 1, 1, 1),  # one 1g instance may take the media engines
        (f"1g.{quarter}gb", 1, 2, 4),
        (f"2g.{quarter}gb", 2, 2, 3),
        (f"3g.{half}gb", 3, 4, 2),
        (f"4g.{half}gb", 4, 4, 1),
        (f"7g.{full}gb", 7, 8, 1),
    ]
    return MigGpu(model, 7, 8, {name: MigProfile(name, c, m, n) for name, c, m, n in rows})


def _a30(model: str) -> MigGpu:
    rows = [("1g.6gb", 1, 1, 4), ("1g.6gb+me", 1, 1, 1), ("2g.12gb", 2, 2, 2), ("2g.12gb+me", 2, 2, 1),
            ("4g.24gb", 4, 4, 1)]
    return MigGpu(model, 4, 4, {name: MigProfile(name, c, m, n) for name, c, m, n in rows})


MIG_GPUS: dict[str, MigGpu] = {
    gpu.model: gpu
    for gpu in (
        _a30("NVIDIA A30"),
        _seven_slices("NVIDIA A100-SXM4-40GB", ("5", "10", "20", "40")),
        _seven_slices("NVIDIA A100-SXM4-80GB", ("10", "20", "40", "80")),
        _seven_slices("NVIDIA H100 80GB HBM3", ("10", "20", "40", "80")),
        _seven_slices("NVIDIA H100 NVL", ("12", "24", "47", "94")),
        _seven_slices("NVIDIA H200", ("18", "35", "71", "141")),
        _seven_slices("NVIDIA B200", ("23", "45", "90", "180")),
    )
}


def mig_gpu(model: str) -> MigGpu | None:
    """The MIG facts of GPU `model`, or None when it can't be split (or the table doesn't know it)."""
    return MIG_GPUS.get(model)
