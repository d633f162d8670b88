"""Facts about EC2 instance types, as a table with lookups (not branches).

Used to check that a GPU pool asks for GPU instances, to pick a matching AMI architecture, and to give
simulated nodes the capacity the real instance would have. Figures are from the EC2 instance type pages.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["InstanceType", "INSTANCE_TYPES", "lookup"]

Arch = Literal["x86_64", "arm64"]


@dataclass(frozen=True)
class InstanceType:
    name: str
    vcpu: int
    memory_mib: int
    arch: Arch = "x86_64"
    gpus: int = 0
    gpu_model: str = ""
    gpu_memory_mib: int = 0

    @property
    def is_gpu(self) -> bool:
        return self.gpus > 0


def _t(*rows: InstanceType) -> dict[str, InstanceType]:
    return {row.name: row for row in rows}


INSTANCE_TYPES: dict[str, InstanceType] = _t(
    # general purpose
    InstanceType("t3.medium", 2, 4096),
    InstanceType("t3.large", 2, 8192),
    InstanceType("t3.xlarge", 4, 16384),
    InstanceType("m6i.large", 2, 8192),
    InstanceType("m6i.xlarge", 4, 16384),
    InstanceType("m6i.2xlarge", 8, 32768),
    InstanceType("m7i.large", 2, 8192),
    InstanceType("m7i.xlarge", 4, 16384),
    InstanceType("m7i.2xlarge", 8, 32768),
    InstanceType("c6i.xlarge", 4, 8192),
    InstanceType("m7g.large", 2, 8192, arch="arm64"),
    InstanceType("m7g.xlarge", 4, 16384, arch="arm64"),
    # GPU
    InstanceType("g4dn.xlarge", 4, 16384, gpus=1, gpu_model="Tesla T4", gpu_memory_mib=15360),
    InstanceType("g4dn.12xlarge", 48, 196608, gpus=4, gpu_model="Tesla T4", gpu_memory_mib=15360),
    InstanceType("g5.xlarge", 4, 16384, gpus=1, gpu_model="NVIDIA A10G", gpu_memory_mib=23028),
    InstanceType("g5.2xlarge", 8, 32768, gpus=1, gpu_model="NVIDIA A10G", gpu_memory_mib=23028),
    InstanceType("g5.12xlarge", 48, 196608, gpus=4, gpu_model="NVIDIA A10G", gpu_memory_mib=23028),
    InstanceType("g5.48xlarge", 192, 786432, gpus=8, gpu_model="NVIDIA A10G", gpu_memory_mib=23028),
    InstanceType("g6.xlarge", 4, 16384, gpus=1, gpu_model="NVIDIA L4", gpu_memory_mib=23034),
    InstanceType("g6.2xlarge", 8, 32768, gpus=1, gpu_model="NVIDIA L4", gpu_memory_mib=23034),
    InstanceType("g6.12xlarge", 48, 196608, gpus=4, gpu_model="NVIDIA L4", gpu_memory_mib=23034),
    InstanceType("g6e.xlarge", 4, 32768, gpus=1, gpu_model="NVIDIA L40S", gpu_memory_mib=46068),
    InstanceType("g6e.12xlarge", 48, 393216, gpus=4, gpu_model="NVIDIA L40S", gpu_memory_mib=46068),
    InstanceType("g5g.xlarge", 4, 8192, arch="arm64", gpus=1, gpu_model="NVIDIA T4G", gpu_memory_mib=15360),
    InstanceType("p4d.24xlarge", 96, 1179648, gpus=8, gpu_model="NVIDIA A100-SXM4-40GB", gpu_memory_mib=40960),
    InstanceType("p5.48xlarge", 192, 2097152, gpus=8, gpu_model="NVIDIA H100 80GB HBM3", gpu_memory_mib=81559),
)


def lookup(name: str) -> InstanceType | None:
    """The facts for `name`, or None for a type this table does not know."""
    return INSTANCE_TYPES.get(name)
