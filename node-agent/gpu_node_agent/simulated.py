"""`--gpu-source simulated:FILE`: GPUs described in YAML/JSON, with an optional time series to replay.

File shape (see node-agent/examples/):

    driverVersion: "550.54.15"
    cudaDriverVersion: 12040
    gpus:                       # each entry may stand for `count` identical GPUs
      - {count: 8, name: NVIDIA H100 80GB HBM3, memoryTotalMiB: 81559, computeCapability: "9.0", migCapable: true}
    samples:                    # optional; by seconds since start, looping after the last one
      - {t: 0, utilization: 3, memoryUsedMiB: 500}
      - {t: 60, utilization: 92, memoryUsedMiB: 61000, gpus: {3: {lost: true}}}
      - {t: 120, nvmlError: DriverNotLoaded}   # NVML unreadable for this sample (any pynvml error kind)
      - {t: 180, gpus: {2: {xid: 79, eccErrors: {volatile: {uncorrected: 1}}, remappedRows: {pending: true}}}}

`xid` (a code, or a list) is an event delivered to the agent's event thread when the replay passes the sample;
an entry `{code: 94, gpuInstance: 2, computeInstance: 0}` is one of a MIG instance, which only a privileged agent
receives (top-level `privileged: true`; by default the agent is unprivileged, as it runs);
`eccErrors` is `{volatile|aggregate: {corrected|uncorrected: N}}`; `remappedRows` is `{correctable: N,
uncorrectable: N, pending: bool, failed: bool}`; `clocksEventReasons` a list of `sw_power_cap`, `hw_slowdown`,
`hw_thermal_slowdown`, `hw_power_brake_slowdown`, `sw_thermal_slowdown`, `sync_boost`. A `gpus` entry with
`migEnabled: true` may list `migDevices: [{profile: 1g.10gb, count: 7, memoryMiB: 9856}]`.

A sample's values apply to every GPU, `gpus: {INDEX: {...}}` to one; a field not in the current sample takes
the value from the `gpus` entry.

The reader is the real `NvmlReader` and the real nvidia-ml-py over `fakenvml.FakeLibNvml`, an emulated
libnvidia-ml answering from the file: a simulated node goes through the same adapter and bindings as a real one,
as an unprivileged agent (a MIG parent's memory is refused, as on a real node). The library is per process, so
one simulated reader is open at a time in a process.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from .fakenvml import FakeLibNvml, nvml_error_class
from .metrics import CLOCK_EVENT_REASONS
from .nvml import NvmlReader
from .snapshot import GpuSnapshot, MigSnapshot, NodeSnapshot

__all__ = ["SimulatedReader", "SimulationError", "load_simulation"]

MIB = 1024 * 1024
_LIVE_FIELDS = {
    "memoryUsedMiB",
    "memoryReservedMiB",
    "utilization",
    "memoryUtilization",
    "temperature",
    "powerWatts",
    "powerLimitWatts",
    "lost",
    "eccErrors",
    "remappedRows",
    "clocksEventReasons",
    "xid",
}
_GPU_FIELDS = (_LIVE_FIELDS - {"xid"}) | {
    "count",
    "name",
    "uuid",
    "memoryTotalMiB",
    "computeCapability",
    "migCapable",
    "migEnabled",
    "migDevices",
}
_TOP_FIELDS = {"driverVersion", "cudaDriverVersion", "gpus", "samples", "privileged"}
_XID_FIELDS = {"code", "gpuInstance", "computeInstance"}
_SAMPLE_FIELDS = _LIVE_FIELDS | {"t", "gpus", "nvmlError"}


class SimulationError(ValueError):
    """The simulated GPU file is malformed; the message names the file and the bad entry."""


@dataclass(frozen=True)
class Sample:
    t: float
    all_gpus: Mapping[str, Any]
    per_gpu: Mapping[int, Mapping[str, Any]]
    nvml_error: str | None = None


@dataclass(frozen=True)
class Simulation:
    base: NodeSnapshot
    samples: tuple[Sample, ...]
    privileged: bool = False

    @property
    def period(self) -> float:
        """Replay length: the last sample's time plus the step before it."""
        if len(self.samples) < 2:
            return float("inf")
        return self.samples[-1].t + (self.samples[-1].t - self.samples[-2].t)

    @cached_property
    def times(self) -> tuple[float, ...]:
        return tuple(s.t for s in self.samples)

    def _samples_between(self, since: float, until: float) -> Iterator[tuple[float, Sample]]:
        """(start of its loop, sample) for each sample in (since, until], seconds since start, the trace repeating
        every `period`."""
        if len(self.samples) < 2:
            return
        times, period = self.times, self.period
        loop = int(max(since, 0.0) // period)
        while loop * period <= until:
            offset = loop * period
            first = bisect.bisect_right(times, since - offset)
            last = bisect.bisect_right(times, until - offset)
            for sample in self.samples[first:last]:
                yield offset, sample
            loop += 1

    def utilization_points(self, index: int, since: float, until: float) -> list[tuple[float, int]]:
        """The trace's utilization samples of GPU `index` in (since, until], seconds since start, as NVML's
        sample buffer would hold them (a sample with NVML unreadable or the GPU lost has none)."""
        base = self.base.gpus[index].utilization_gpu_percent or 0
        points: list[tuple[float, int]] = []
        for offset, sample in self._samples_between(since, until):
            values = {**sample.all_gpus, **sample.per_gpu.get(index, {})}
            if sample.nvml_error is None and not values.get("lost"):
                points.append((offset + sample.t, int(values.get("utilization", base))))
        return points

    def xid_events(self, since: float, until: float) -> list[XidEvent]:
        """(GPU index, XID, GPU instance, compute instance) of the samples in (since, until], in order."""
        events: list[XidEvent] = []
        for _, sample in self._samples_between(since, until):
            for gpu in self.base.gpus:
                raw = {**sample.all_gpus, **sample.per_gpu.get(gpu.index, {})}.get("xid")
                codes = raw if isinstance(raw, list) else [] if raw is None else [raw]
                events.extend((gpu.index, *_xid(code)) for code in codes)
        return events

    def at(self, elapsed: float) -> NodeSnapshot:
        if not self.samples:
            return self.base
        elapsed %= self.period
        index = bisect.bisect_right(self.times, elapsed) - 1
        sample = self.samples[max(index, 0)]
        gpus = tuple(_apply(gpu, {**sample.all_gpus, **sample.per_gpu.get(gpu.index, {})}) for gpu in self.base.gpus)
        return replace(self.base, gpus=gpus, error=sample.nvml_error)


XidEvent = tuple[int, int, "int | None", "int | None"]


def _xid(entry: Any) -> tuple[int, int | None, int | None]:
    """`79`, or `{code: 94, gpuInstance: 2, computeInstance: 0}` (one MIG instance's)."""
    if isinstance(entry, Mapping):
        unknown = sorted(set(entry) - _XID_FIELDS)
        if unknown or "code" not in entry:
            raise ValueError(f"xid {dict(entry)!r}: expected {{code, gpuInstance, computeInstance}}")
        gi = entry.get("gpuInstance")
        if gi is None:
            return int(entry["code"]), None, None
        return int(entry["code"]), int(gi), int(entry.get("computeInstance", 0))
    return int(entry), None, None


def _apply(gpu: GpuSnapshot, values: Mapping[str, Any]) -> GpuSnapshot:
    changes: dict[str, Any] = {}
    if "memoryUsedMiB" in values and gpu.memory_total_bytes is not None:
        used = min(int(values["memoryUsedMiB"] * MIB), gpu.memory_total_bytes)
        changes.update(memory_used_bytes=used, memory_free_bytes=gpu.memory_total_bytes - used)
    for key, attr in (
        ("utilization", "utilization_gpu_percent"),
        ("memoryUtilization", "utilization_memory_percent"),
        ("temperature", "temperature_celsius"),
    ):
        if key in values:
            changes[attr] = int(values[key])
    if "memoryReservedMiB" in values:
        changes["memory_reserved_bytes"] = int(values["memoryReservedMiB"] * MIB)
    for key, attr in (("powerWatts", "power_watts"), ("powerLimitWatts", "power_limit_watts")):
        if key in values:
            changes[attr] = float(values[key])
    if "eccErrors" in values:
        changes["ecc_errors"] = tuple(
            ((str(scope), str(kind)), int(count))
            for scope, kinds in values["eccErrors"].items()
            for kind, count in kinds.items()
            if scope in ("volatile", "aggregate") and kind in ("corrected", "uncorrected")
        )
    if "remappedRows" in values:
        rows = values["remappedRows"]
        changes.update(
            remapped_rows_correctable=int(rows.get("correctable", 0)),
            remapped_rows_uncorrectable=int(rows.get("uncorrectable", 0)),
            row_remap_pending=bool(rows.get("pending", False)),
            row_remap_failed=bool(rows.get("failed", False)),
        )
    if "clocksEventReasons" in values:
        bits = dict(CLOCK_EVENT_REASONS)
        unknown = sorted(set(values["clocksEventReasons"]) - set(bits))
        if unknown:
            raise ValueError(f"clocksEventReasons: unknown {unknown}; known: {sorted(bits)}")
        changes["clocks_event_reasons"] = sum(bits[r] for r in set(values["clocksEventReasons"]))
    if values.get("lost"):
        changes.update(lost=True, errors=("GpuIsLost",))
    return replace(gpu, **changes)


def _check_keys(where: str, entry: Any, allowed: set[str]) -> Mapping[str, Any]:
    if not isinstance(entry, Mapping):
        raise SimulationError(f"{where}: expected a mapping, got {entry!r}")
    unknown = sorted(set(entry) - allowed)
    if unknown:
        raise SimulationError(f"{where}: unknown keys {unknown}; allowed: {sorted(allowed)}")
    return entry


def _gpus(path: str, entries: Any) -> tuple[GpuSnapshot, ...]:
    if not isinstance(entries, list) or not entries:
        raise SimulationError(f"{path}: `gpus` must be a non-empty list")
    gpus: list[GpuSnapshot] = []
    for n, raw in enumerate(entries):
        entry = _check_keys(f"{path}: gpus[{n}]", raw, _GPU_FIELDS)
        try:
            capability = entry.get("computeCapability")
            major_minor = tuple(int(x) for x in str(capability).split(".")) if capability is not None else None
            if major_minor is not None and len(major_minor) != 2:
                raise ValueError(f"computeCapability {capability!r} is not MAJOR.MINOR")
            total = int(entry["memoryTotalMiB"]) * MIB if "memoryTotalMiB" in entry else None
            for _ in range(int(entry.get("count", 1))):
                index = len(gpus)
                gpu = GpuSnapshot(
                    index=index,
                    uuid=str(entry.get("uuid", f"GPU-00000000-0000-0000-0000-{index:012d}")),
                    name=str(entry.get("name", "")),
                    memory_total_bytes=total,
                    memory_used_bytes=0 if total is not None else None,
                    memory_free_bytes=total,
                    mig_capable=entry.get("migCapable"),
                    mig_enabled=entry.get("migEnabled"),
                    compute_capability=major_minor,
                )
                gpu = replace(gpu, mig_devices=_mig_devices(entry.get("migDevices"), gpu.uuid))
                gpus.append(_apply(gpu, entry))
        except (KeyError, TypeError, ValueError) as error:
            raise SimulationError(f"{path}: gpus[{n}]: {error}") from error
    return tuple(gpus)


def _mig_devices(entries: Any, gpu_uuid: str) -> tuple[MigSnapshot, ...]:
    """`[{profile: 1g.10gb, count: 7, memoryMiB: 9856}, ...]`: MIG devices in that order, GPU instance ids from 1."""
    if entries is None:
        return ()
    if not isinstance(entries, list):
        raise ValueError("migDevices must be a list of {profile, count, memoryMiB}")
    devices: list[MigSnapshot] = []
    body = gpu_uuid.removeprefix("GPU-")
    for entry in entries:
        if not isinstance(entry, Mapping) or set(entry) - {"profile", "count", "memoryMiB"} or "profile" not in entry:
            raise ValueError(f"migDevices: {entry!r} is not {{profile, count, memoryMiB}}")
        for _ in range(int(entry.get("count", 1))):
            n = len(devices) + 1
            total = int(entry["memoryMiB"]) * MIB if "memoryMiB" in entry else None
            devices.append(
                MigSnapshot(
                    gpu_instance_id=n,
                    compute_instance_id=0,
                    profile=str(entry["profile"]),
                    # Unique per GPU and instance, as real MIG UUIDs are (pod attribution keys on them).
                    uuid=f"MIG-{body[:-8]}{body[-4:]}{n:04d}",
                    memory_total_bytes=total,
                    memory_used_bytes=0 if total is not None else None,
                    memory_free_bytes=total,
                )
            )
    return tuple(devices)


def _samples(path: str, entries: Any) -> tuple[Sample, ...]:
    if entries is None:
        return ()
    if not isinstance(entries, list):
        raise SimulationError(f"{path}: `samples` must be a list")
    samples: list[Sample] = []
    for n, raw in enumerate(entries):
        entry = _check_keys(f"{path}: samples[{n}]", raw, _SAMPLE_FIELDS)
        if "t" not in entry or (samples and float(entry["t"]) <= samples[-1].t):
            raise SimulationError(f"{path}: samples[{n}]: needs `t` (seconds), increasing")
        per_gpu = {
            int(i): _check_keys(f"{path}: samples[{n}].gpus[{i}]", v, _LIVE_FIELDS)
            for i, v in (entry.get("gpus") or {}).items()
        }
        all_gpus = {k: v for k, v in entry.items() if k in _LIVE_FIELDS}
        nvml_error = entry.get("nvmlError")
        if nvml_error is not None:
            try:
                nvml_error_class(str(nvml_error))
            except ValueError as error:
                raise SimulationError(f"{path}: samples[{n}].nvmlError: {error}") from error
        samples.append(
            Sample(
                t=float(entry["t"]),
                all_gpus=all_gpus,
                per_gpu=per_gpu,
                nvml_error=None if nvml_error is None else str(nvml_error),
            )
        )
    return tuple(samples)


def load_simulation(path: str | Path) -> Simulation:
    """Parses a simulated GPU file; every error names the file and the entry."""
    where = str(path)
    try:
        data = yaml.safe_load(Path(path).read_text())
    except OSError as error:
        raise SimulationError(f"{where}: cannot read ({error.strerror})") from error
    except yaml.YAMLError as error:
        raise SimulationError(f"{where}: not valid YAML/JSON: {error}") from error
    data = _check_keys(where, data, _TOP_FIELDS)
    cuda = data.get("cudaDriverVersion")
    base = NodeSnapshot(
        gpus=_gpus(where, data.get("gpus")),
        driver_version=str(data["driverVersion"]) if "driverVersion" in data else None,
        cuda_driver_version=int(cuda) if cuda is not None else None,
    )
    samples = _samples(where, data.get("samples"))
    simulation = Simulation(base=base, samples=samples, privileged=bool(data.get("privileged")))
    try:
        simulation.xid_events(-1.0, simulation.period if simulation.period != float("inf") else 0.0)
    except (TypeError, ValueError) as error:
        raise SimulationError(f"{where}: {error}") from error
    return simulation


class SimulatedReader:
    """`NvmlReader` over the emulated library, replaying the file's samples against `clock` (seconds)."""

    def __init__(
        self, path: str | Path, clock: Callable[[], float] = time.monotonic, watch_xid: bool = True
    ) -> None:
        self._simulation = load_simulation(path)
        self._clock = clock
        self._start = clock()
        self._last_read = -1.0
        self.nvml = FakeLibNvml(
            lambda: self._simulation.at(self._elapsed()),
            samples=self._samples,
            privileged=self._simulation.privileged,
        )
        self._reader = NvmlReader(watch_xid=watch_xid)

    def _elapsed(self) -> float:
        return self._clock() - self._start

    def _samples(self, index: int, last_seen_us: int) -> list[tuple[int, int]]:
        points = self._simulation.utilization_points(index, last_seen_us / 1e6, self._elapsed())
        return [(round(t * 1e6), value) for t, value in points]

    def open(self) -> None:
        self._start = self._clock()
        self._last_read = -1.0  # a sample at t=0 is passed by the first read
        self.nvml.install()
        self._reader.open()

    def read(self) -> NodeSnapshot:
        now = self._elapsed()
        for index, xid, gpu_instance, compute_instance in self._simulation.xid_events(self._last_read, now):
            self.nvml.inject_xid(index, xid, gpu_instance, compute_instance)
        self._last_read = now
        return self._reader.read()

    def close(self) -> None:
        self._reader.close()
        self.nvml.uninstall()
