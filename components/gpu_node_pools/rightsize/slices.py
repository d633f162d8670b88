"""MIG profiles as the report weighs them, from the MIG facts (facts/mig.py): what part of the GPU each takes from
others, and its memory."""

from __future__ import annotations

from dataclasses import dataclass

from ..facts.mig import MigGpu, MigProfile, mig_gpu

__all__ = ["Slice", "mig_slice", "mig_slices"]


@dataclass(frozen=True)
class Slice:
    profile: str
    compute_slices: int
    gpu_compute_slices: int
    memory_share: float  # of the GPU's memory slices

    @property
    def compute_share(self) -> float:
        return self.compute_slices / self.gpu_compute_slices

    @property
    def share(self) -> float:
        """The part of the GPU it takes from others: the larger of its compute and memory shares."""
        return max(self.compute_share, self.memory_share)


def _slice(gpu: MigGpu, p: MigProfile) -> Slice:
    return Slice(p.name, p.compute_slices, gpu.compute_slices, p.memory_slices / gpu.memory_slices)


def mig_slices(model: str) -> tuple[Slice, ...]:
    """The model's MIG profiles smaller than the whole GPU, smallest share first; () for a GPU without MIG. The
    media-engine variants (`+me`) take the same slices as their plain profile and are left out."""
    gpu = mig_gpu(model)
    if gpu is None:
        return ()
    slices = [_slice(gpu, p) for p in gpu.profiles.values()
              if "+" not in p.name and p.compute_slices < gpu.compute_slices]
    return tuple(sorted(slices, key=lambda s: (s.share, s.compute_slices, s.memory_share)))


def mig_slice(model: str, profile: str) -> Slice | None:
    """A MIG device's slice by its `GPU_I_PROFILE` label (the whole-GPU profile included)."""
    gpu = mig_gpu(model)
    found = gpu.profiles.get(profile) if gpu else None
    return None if gpu is None or found is None else _slice(gpu, found)
