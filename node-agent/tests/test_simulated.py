from __future__ import annotations

from pathlib import Path

import pynvml
import pytest
from emulated import opened

from gpu_node_agent.simulated import SimulatedReader, SimulationError, load_simulation

MIB = 1024 * 1024

TRACE = """
driverVersion: "550.54.15"
gpus:
  - {count: 2, name: NVIDIA L4, memoryTotalMiB: 23034, computeCapability: "8.9", utilization: 1}
samples:
  - {t: 0, utilization: 5, memoryUsedMiB: 100}
  - {t: 60, utilization: 90, memoryUsedMiB: 20000, gpus: {1: {lost: true}}}
"""


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "gpus.yaml"
    path.write_text(text)
    return path


def test_replays_samples_by_time_and_loops(tmp_path: Path) -> None:
    clock = Clock()
    reader = SimulatedReader(write(tmp_path, TRACE), clock)
    opened(reader)
    try:
        first = reader.read()
        assert [g.utilization_gpu_percent for g in first.gpus] == [5, 5] and first.healthy
        assert first.gpus[0].memory_free_bytes == (23034 - 100) * MIB
        clock.now += 61
        later = reader.read()
        assert later.gpus[0].utilization_gpu_percent == 90 and later.gpus[1].lost and not later.healthy
        clock.now += 60  # period is 120 s: back to the first sample
        assert reader.read().gpus[0].utilization_gpu_percent == 5
    finally:
        reader.close()


def test_examples_load(examples_dir: str) -> None:
    for path in Path(examples_dir).glob("*.yaml"):
        assert load_simulation(path).base.gpus, path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("gpus: []", r"gpus.yaml: `gpus` must be a non-empty list"),
        ("gpus: [{name: x, memoryTotalMB: 1}]", r"gpus\[0\]: unknown keys \['memoryTotalMB'\]"),
        ("gpus: [{name: x, computeCapability: '9'}]", r"gpus\[0\]: computeCapability '9' is not MAJOR.MINOR"),
        ("gpus: [{name: x}]\nsamples: [{t: 5}, {t: 1}]", r"samples\[1\]: needs `t` \(seconds\), increasing"),
        ("gpus: [{name: x}]\nsamples: [{t: 0, gpus: {0: {name: y}}}]", r"samples\[0\].gpus\[0\]: unknown keys"),
        ("gpus: [{name: x}\n", r"not valid YAML/JSON"),
        ("gpus: [{name: x}]\nsamples: [{t: 0, nvmlError: Oops}]", r"samples\[0\].nvmlError: 'Oops' is not a pynvml"),
    ],
)
def test_errors_name_the_file_and_entry(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(SimulationError, match=message):
        load_simulation(write(tmp_path, text))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SimulationError, match="nope.yaml: cannot read"):
        load_simulation(tmp_path / "nope.yaml")


def test_the_simulated_source_runs_the_real_nvml_adapter(tmp_path: Path) -> None:
    reader = SimulatedReader(write(tmp_path, TRACE), Clock())
    opened(reader)
    reader.nvml.fail[("nvmlDeviceGetTemperature", 0)] = pynvml.NVMLError_Unknown  # pynvml's own class
    snapshot = reader.read()
    assert snapshot.gpus[0].errors == ("Unknown",) and snapshot.gpus[1].healthy
    assert snapshot.gpus[1].pci_bus_id == "00000000:02:00.0"  # answered by the fake's nvmlDeviceGetPciInfo


def test_a_sample_can_make_nvml_unreadable(tmp_path: Path) -> None:
    clock = Clock()
    reader = SimulatedReader(
        write(tmp_path, "gpus: [{name: NVIDIA L4}]\nsamples: [{t: 0}, {t: 60, nvmlError: DriverNotLoaded}]"), clock
    )
    opened(reader)
    assert reader.read().healthy
    clock.now += 61
    assert reader.read().error == "DriverNotLoaded"
    clock.now += 60
    assert reader.read().healthy


def test_a_lost_simulated_gpu_reads_as_nvml_reports_it(tmp_path: Path) -> None:
    clock = Clock()
    reader = SimulatedReader(write(tmp_path, TRACE), clock)
    opened(reader)
    clock.now += 61
    lost = reader.read().gpus[1]
    assert lost.lost and lost.errors == ("GpuIsLost",) and lost.name == ""  # identity is the agent's to keep
