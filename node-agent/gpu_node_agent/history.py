"""What the agent carries from one cycle to the next, as one immutable value: the last good read (for static
labels, as GFD keeps its labels when a relabel fails), each GPU's identity (uuid, name, PCI bus id), and how many
cycles in a row have failed (for health). Pure: `after(snapshot)` returns the next value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from .health import READ_FAILURE_CYCLES, NodeHealth, assess, read_failed
from .snapshot import NodeSnapshot

__all__ = ["GpuIdentity", "ReadHistory", "with_identities"]


@dataclass(frozen=True)
class GpuIdentity:
    uuid: str = ""
    name: str = ""
    pci_bus_id: str = ""



def _is_good(snapshot: NodeSnapshot) -> bool:
    """A read clean enough to stand in for later failed ones: NVML answered, every GPU read without error."""
    return snapshot.healthy


def with_identities(snapshot: NodeSnapshot, identities: Mapping[int, GpuIdentity]) -> NodeSnapshot:
    """`snapshot` with each GPU's empty uuid/name/PCI bus id taken from `identities` (same index)."""
    gpus = []
    for gpu in snapshot.gpus:
        known = identities.get(gpu.index)
        if known is not None:
            gpu = replace(
                gpu,
                uuid=gpu.uuid or known.uuid,
                name=gpu.name or known.name,
                pci_bus_id=gpu.pci_bus_id or known.pci_bus_id,
            )
        gpus.append(gpu)
    return replace(snapshot, gpus=tuple(gpus))


@dataclass(frozen=True)
class ReadHistory:
    last_good: NodeSnapshot | None = None
    identities: Mapping[int, GpuIdentity] = field(default_factory=dict)
    failed_cycles: int = 0
    health: NodeHealth = NodeHealth()
    failure_threshold: int = READ_FAILURE_CYCLES

    def after(self, snapshot: NodeSnapshot) -> ReadHistory:
        """The history once `snapshot` (this cycle's read) is seen."""
        identities = dict(self.identities)
        for gpu in snapshot.gpus:
            # A field that failed to read is empty: keep the one read before.
            known = identities.get(gpu.index, GpuIdentity())
            identities[gpu.index] = GpuIdentity(
                uuid=gpu.uuid or known.uuid,
                name=gpu.name or known.name,
                pci_bus_id=gpu.pci_bus_id or known.pci_bus_id,
            )
        failed = self.failed_cycles + 1 if read_failed(snapshot) else 0
        return replace(
            self,
            last_good=snapshot if _is_good(snapshot) else self.last_good,
            identities=identities,
            failed_cycles=failed,
            health=assess(snapshot, failed, self.failure_threshold),
        )

    def complete(self, snapshot: NodeSnapshot) -> NodeSnapshot:
        """`snapshot` with lost identities filled in from earlier reads."""
        return with_identities(snapshot, self.identities)
