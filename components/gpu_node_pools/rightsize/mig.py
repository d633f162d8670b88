"""MIG profiles per GPU model, from NVIDIA's MIG user guide ("Supported MIG profiles"): each profile as its compute
slices (of 7) and memory slices (of 8); its memory is that share of the GPU's.

The report's own small lookup, behind `mig_profiles`; the pool sharing config's MIG facts are the same data.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MigProfile", "mig_profiles"]

COMPUTE_SLICES, MEMORY_SLICES = 7, 8


@dataclass(frozen=True)
class MigProfile:
    name: str
    compute: int  # of COMPUTE_SLICES
    memory: int  # of MEMORY_SLICES

    @property
    def share(self) -> float:
        """The part of the GPU it takes from others: the larger of its compute and memory shares."""
        return max(self.compute / COMPUTE_SLICES, self.memory / MEMORY_SLICES)


def _profiles(gb: tuple[int, int, int, int]) -> tuple[MigProfile, ...]:
    eighth, quarter, half, whole = gb
    return (
        MigProfile(f"1g.{eighth}gb", 1, 1), MigProfile(f"1g.{quarter}gb", 1, 2), MigProfile(f"2g.{quarter}gb", 2, 2),
        MigProfile(f"3g.{half}gb", 3, 4), MigProfile(f"4g.{half}gb", 4, 4), MigProfile(f"7g.{whole}gb", 7, 8),
    )


_BY_MODEL: dict[str, tuple[MigProfile, ...]] = {
    "NVIDIA A100-SXM4-40GB": _profiles((5, 10, 20, 40)),
    "NVIDIA A100-SXM4-80GB": _profiles((10, 20, 40, 80)),
    "NVIDIA H100 80GB HBM3": _profiles((10, 20, 40, 80)),
    "NVIDIA H200": _profiles((18, 35, 71, 141)),
}


def mig_profiles(model: str) -> tuple[MigProfile, ...]:
    """The model's MIG profiles, smallest first; () for a GPU without MIG (T4, A10G, L4, L40S)."""
    return _BY_MODEL.get(model, ())
