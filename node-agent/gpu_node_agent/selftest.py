"""`gpu-node-agent selftest`: the agent's readout of this machine against `nvidia-smi`, and what a cycle costs.

For a machine with a GPU: every GPU's name, UUID, memory total and used, utilization and MIG devices as the agent
reads them through NVML, next to `nvidia-smi --query-gpu` and `nvidia-smi -L`; and the time of one agent read
against one `nvidia-smi` call. The result is written as JSON and printed as a table; the exit status is 0 when
everything agrees, 1 when something does not.

Moving values (memory used, utilization) are compared with a tolerance, since the two reads are not at the same
instant. A MIG-enabled GPU's memory is the sum of its MIG devices for an unprivileged agent (NVML refuses the
parent's), so its total is reported, not judged, there.
"""

from __future__ import annotations

import json
import re
import statistics
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from .snapshot import GpuSnapshot, NodeSnapshot

__all__ = ["Check", "SelftestResult", "compare", "parse_list", "parse_query", "render", "run_selftest", "write"]

MIB = 1024 * 1024
QUERY_FIELDS = ("index", "uuid", "name", "memory.total", "memory.used", "utilization.gpu")
QUERY = ["--query-gpu=" + ",".join(QUERY_FIELDS), "--format=csv,noheader,nounits"]
MEMORY_USED_TOLERANCE_MIB = 256
UTILIZATION_TOLERANCE_POINTS = 15
_MIG_LINE = re.compile(r"^\s+MIG\s+(\S+)\s+Device\s+(\d+):\s+\(UUID:\s+(MIG-[^)\s]+)\)")
_GPU_LINE = re.compile(r"^GPU\s+(\d+):.*\(UUID:\s+(GPU-[^)\s]+)\)")


@dataclass(frozen=True)
class Check:
    gpu: str  # GPU index, or `index/MIG` for its MIG devices
    field: str
    agent: Any
    nvidia_smi: Any
    ok: bool | None  # None: reported, not judged
    note: str = ""


@dataclass(frozen=True)
class SelftestResult:
    driver_version: str | None
    checks: tuple[Check, ...]
    agent_read_ms: float
    nvidia_smi_ms: float
    cycles: int
    errors: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.errors and all(c.ok is not False for c in self.checks)

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "driver_version": self.driver_version,
            "errors": list(self.errors),
            "timing": {
                "agent_read_ms_median": round(self.agent_read_ms, 2),
                "nvidia_smi_ms_median": round(self.nvidia_smi_ms, 2),
                "nvidia_smi_over_agent": (
                    round(self.nvidia_smi_ms / self.agent_read_ms, 1) if self.agent_read_ms else None
                ),
                "cycles": self.cycles,
            },
            "checks": [asdict(c) for c in self.checks],
        }


def _value(raw: str) -> str | None:
    raw = raw.strip()
    return None if raw.startswith("[") or raw in ("", "N/A") else raw  # [N/A], [Not Supported]


def parse_query(text: str) -> dict[str, dict[str, str | None]]:
    """`nvidia-smi --query-gpu=...` CSV rows by UUID."""
    rows: dict[str, dict[str, str | None]] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        values = [_value(v) for v in line.split(",")]
        if len(values) != len(QUERY_FIELDS):
            raise ValueError(f"nvidia-smi --query-gpu: unexpected row {line!r}")
        row = dict(zip(QUERY_FIELDS, values))
        rows[str(row["uuid"])] = row
    return rows


def parse_list(text: str) -> dict[str, list[tuple[str, str]]]:
    """`nvidia-smi -L`: GPU UUID -> [(MIG profile, MIG UUID), ...]."""
    migs: dict[str, list[tuple[str, str]]] = {}
    current: str | None = None
    for line in text.splitlines():
        gpu = _GPU_LINE.match(line)
        if gpu:
            current = gpu.group(2)
            migs[current] = []
            continue
        mig = _MIG_LINE.match(line)
        if mig and current is not None:
            migs[current].append((mig.group(1), mig.group(3)))
    return migs


def _int(value: str | None) -> int | None:
    try:
        return int(float(value)) if value is not None else None
    except ValueError:
        return None


def _gpu_checks(gpu: GpuSnapshot, row: dict[str, str | None], migs: list[tuple[str, str]]) -> list[Check]:
    label = str(gpu.index)
    total = gpu.memory_total_bytes // MIB if gpu.memory_total_bytes is not None else None
    used = gpu.memory_used_bytes // MIB if gpu.memory_used_bytes is not None else None
    smi_total, smi_used, smi_util = _int(row["memory.total"]), _int(row["memory.used"]), _int(row["utilization.gpu"])
    checks = [Check(label, "name", gpu.name, row["name"], gpu.name == row["name"])]
    if gpu.mig_enabled:
        note = "MIG: the agent's memory is its MIG devices' sum without privileges"
        checks.append(Check(label, "memory.total MiB", total, smi_total, None, note))
    else:
        checks.append(Check(label, "memory.total MiB", total, smi_total, total == smi_total))
        close = used is not None and smi_used is not None and abs(used - smi_used) <= MEMORY_USED_TOLERANCE_MIB
        note = f"±{MEMORY_USED_TOLERANCE_MIB} MiB (read at different instants)"
        checks.append(Check(label, "memory.used MiB", used, smi_used, close or used == smi_used, note))
    util = gpu.utilization_gpu_percent
    if util is None or smi_util is None:
        checks.append(Check(label, "utilization.gpu %", util, smi_util, util == smi_util, "both unreadable agrees"))
    else:
        close = abs(util - smi_util) <= UTILIZATION_TOLERANCE_POINTS
        note = f"±{UTILIZATION_TOLERANCE_POINTS} points"
        checks.append(Check(label, "utilization.gpu %", util, smi_util, close, note))
    ours = sorted((m.profile, m.uuid) for m in gpu.mig_devices)
    checks.append(Check(f"{label}/MIG", "devices (profile, UUID)", ours, sorted(migs), ours == sorted(migs)))
    return checks


def compare(snapshot: NodeSnapshot, query: str, listing: str) -> tuple[Check, ...]:
    """Checks of one agent read against one `nvidia-smi --query-gpu` and one `nvidia-smi -L` output."""
    rows, migs = parse_query(query), parse_list(listing)
    checks: list[Check] = []
    for gpu in snapshot.gpus:
        row = rows.pop(gpu.uuid, None)
        if row is None:
            checks.append(Check(str(gpu.index), "uuid", gpu.uuid, None, False, "not listed by nvidia-smi"))
            continue
        checks.append(Check(str(gpu.index), "uuid", gpu.uuid, row["uuid"], True))
        checks.extend(_gpu_checks(gpu, row, migs.get(gpu.uuid, [])))
    for uuid, row in rows.items():
        checks.append(Check(str(row["index"]), "uuid", None, uuid, False, "the agent did not see this GPU"))
    return tuple(checks)


def _timed(call: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    value = call()
    return value, (time.perf_counter() - started) * 1000


def run_selftest(read: Callable[[], NodeSnapshot], nvidia_smi: str, cycles: int = 5) -> SelftestResult:
    """`read`: one agent read (an opened reader's). The agent read and the `nvidia-smi` query are each timed
    `cycles` times (medians: the first read also opens handles, the first nvidia-smi call may load the driver)."""

    def smi(args: Sequence[str]) -> str:
        done = subprocess.run([nvidia_smi, *args], capture_output=True, text=True, timeout=60, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{nvidia_smi} {' '.join(args)}: exit {done.returncode}: {done.stderr.strip()[:200]}")
        return done.stdout

    reads = [_timed(read) for _ in range(cycles)]
    snapshot = reads[-1][0]
    queries = [_timed(lambda: smi(QUERY)) for _ in range(cycles)]
    listing = smi(["-L"])
    errors = (f"NVML: {snapshot.error}",) if snapshot.error else ()
    return SelftestResult(
        driver_version=snapshot.driver_version,
        checks=compare(snapshot, queries[-1][0], listing),
        agent_read_ms=statistics.median(ms for _, ms in reads),
        nvidia_smi_ms=statistics.median(ms for _, ms in queries),
        cycles=cycles,
        errors=errors + tuple(f"GPU {g.index}: {', '.join(g.errors)}" for g in snapshot.gpus if g.errors),
    )


def render(result: SelftestResult) -> str:
    verdict = {True: "ok", False: "MISMATCH", None: "info"}
    rows = [("GPU", "CHECK", "AGENT", "NVIDIA-SMI", "RESULT", "NOTE")]
    rows += [(c.gpu, c.field, str(c.agent), str(c.nvidia_smi), verdict[c.ok], c.note) for c in result.checks]
    widths = [min(max(len(r[i]) for r in rows), 48) for i in range(len(rows[0]) - 1)]
    lines = ["  ".join(v[:w].ljust(w) for v, w in zip(r, widths)) + "  " + r[-1] for r in rows]
    timing = result.as_json()["timing"]
    lines.append("")
    lines.append(
        f"driver {result.driver_version}; agent read {timing['agent_read_ms_median']} ms, nvidia-smi query "
        f"{timing['nvidia_smi_ms_median']} ms (x{timing['nvidia_smi_over_agent']}), medians of {result.cycles}"
    )
    lines.extend(f"error: {e}" for e in result.errors)
    lines.append("selftest: " + ("ok" if result.ok else "FAILED"))
    return "\n".join(lines)


def write(result: SelftestResult, path: str) -> None:
    with open(path, "w") as out:
        json.dump(result.as_json(), out, indent=2)
        out.write("\n")
