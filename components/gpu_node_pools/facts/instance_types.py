"""Facts about EC2 instance types, as a table with lookups (not branches).

Used to check that a GPU pool asks for GPU instances, to pick a matching AMI architecture, to give simulated
nodes the capacity the real instance would have, to write the instance types the local Karpenter offers, and to
price GPU-hours in the benchmarks. Shapes are from the EC2 instance type pages. Prices are US dollars an hour in
us-west-2 (Linux, November 2025): `usd_hour` is the on-demand list price; `spot_usd_hour` is a typical spot price
(spot prices move with demand, hourly and per zone: use it for comparisons, not for a bill).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["GPU_MANUFACTURER", "InstanceType", "INSTANCE_TYPES", "family_of", "lookup"]

Arch = Literal["x86_64", "arm64"]
# Every GPU in this table is NVIDIA's (Karpenter's `karpenter.k8s.aws/instance-gpu-manufacturer` value).
GPU_MANUFACTURER = "nvidia"


@dataclass(frozen=True)
class InstanceType:
    name: str
    vcpu: int
    memory_mib: int
    arch: Arch = "x86_64"
    gpus: int = 0
    gpu_model: str = ""
    gpu_memory_mib: int = 0
    usd_hour: float = 0.0
    spot_usd_hour: float = 0.0

    @property
    def is_gpu(self) -> bool:
        return self.gpus > 0

    @property
    def family(self) -> str:
        return family_of(self.name)


def family_of(name: str) -> str:
    """The instance family of a type name (`g5.xlarge` -> `g5`), as EC2 and Karpenter name it."""
    return name.partition(".")[0]


def _t(*rows: InstanceType) -> dict[str, InstanceType]:
    return {row.name: row for row in rows}


def _cpu(name: str, vcpu: int, memory_mib: int, usd: float, spot: float, arch: Arch = "x86_64") -> InstanceType:
    return InstanceType(name, vcpu, memory_mib, arch=arch, usd_hour=usd, spot_usd_hour=spot)


def _gpu(
    name: str, vcpu: int, memory_mib: int, gpus: int, model: str, gpu_mib: int, usd: float, spot: float,
    arch: Arch = "x86_64",
) -> InstanceType:
    return InstanceType(name, vcpu, memory_mib, arch, gpus, model, gpu_mib, usd, spot)


INSTANCE_TYPES: dict[str, InstanceType] = _t(
    # general purpose: name, vCPU, MiB, on-demand $/h, spot $/h
    _cpu("t3.medium", 2, 4096, 0.0416, 0.0125),
    _cpu("t3.large", 2, 8192, 0.0832, 0.025),
    _cpu("t3.xlarge", 4, 16384, 0.1664, 0.05),
    _cpu("m6i.large", 2, 8192, 0.096, 0.037),
    _cpu("m6i.xlarge", 4, 16384, 0.192, 0.074),
    _cpu("m6i.2xlarge", 8, 32768, 0.384, 0.148),
    _cpu("m7i.large", 2, 8192, 0.1008, 0.04),
    _cpu("m7i.xlarge", 4, 16384, 0.2016, 0.08),
    _cpu("m7i.2xlarge", 8, 32768, 0.4032, 0.16),
    _cpu("c6i.xlarge", 4, 8192, 0.17, 0.066),
    _cpu("m7g.large", 2, 8192, 0.0816, 0.033, arch="arm64"),
    _cpu("m7g.xlarge", 4, 16384, 0.1632, 0.066, arch="arm64"),
    # GPU: name, vCPU, MiB, GPUs, GPU model, GPU MiB, on-demand $/h, spot $/h
    _gpu("g4dn.xlarge", 4, 16384, 1, "Tesla T4", 15360, 0.526, 0.2104),
    _gpu("g4dn.12xlarge", 48, 196608, 4, "Tesla T4", 15360, 3.912, 1.5648),
    _gpu("g5.xlarge", 4, 16384, 1, "NVIDIA A10G", 23028, 1.006, 0.4024),
    _gpu("g5.2xlarge", 8, 32768, 1, "NVIDIA A10G", 23028, 1.212, 0.4848),
    _gpu("g5.12xlarge", 48, 196608, 4, "NVIDIA A10G", 23028, 5.672, 2.2688),
    _gpu("g5.48xlarge", 192, 786432, 8, "NVIDIA A10G", 23028, 16.288, 6.5152),
    _gpu("g6.xlarge", 4, 16384, 1, "NVIDIA L4", 23034, 0.8048, 0.3219),
    _gpu("g6.2xlarge", 8, 32768, 1, "NVIDIA L4", 23034, 0.9776, 0.391),
    _gpu("g6.12xlarge", 48, 196608, 4, "NVIDIA L4", 23034, 4.6016, 1.8406),
    _gpu("g6e.xlarge", 4, 32768, 1, "NVIDIA L40S", 46068, 1.861, 0.7444),
    _gpu("g6e.12xlarge", 48, 393216, 4, "NVIDIA L40S", 46068, 10.493, 4.1972),
    _gpu("g5g.xlarge", 4, 8192, 1, "NVIDIA T4G", 15360, 0.42, 0.168, arch="arm64"),
    _gpu("p4d.24xlarge", 96, 1179648, 8, "NVIDIA A100-SXM4-40GB", 40960, 21.9576, 8.783),
    _gpu("p5.48xlarge", 192, 2097152, 8, "NVIDIA H100 80GB HBM3", 81559, 55.04, 22.016),
)


def lookup(name: str) -> InstanceType | None:
    """The facts for `name`, or None for a type this table does not know."""
    return INSTANCE_TYPES.get(name)
