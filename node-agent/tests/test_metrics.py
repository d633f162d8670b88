from __future__ import annotations

from dataclasses import replace

from snapshot_builders import gpu, node
from prometheus_client import CollectorRegistry, generate_latest

from gpu_node_agent import __version__
from gpu_node_agent.health import NodeHealth
from gpu_node_agent.history import ReadHistory
from gpu_node_agent.metrics import AgentCollector
from gpu_node_agent.snapshot import NodeSnapshot
from gpu_node_agent.state import AgentView


def scrape(view: AgentView) -> dict[str, float]:
    registry = CollectorRegistry()
    registry.register(AgentCollector(lambda: view))
    samples = {}
    for line in generate_latest(registry).decode().splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return samples


def key(index: int = 0, node: str = "n1", pci: str = "", uuid: str = "GPU-0") -> str:
    """dcgm-exporter's label set (Hostname is the node name), plus `node`; sorted as the exposition writes it."""
    return (
        f'Hostname="{node}",UUID="{uuid}",device="nvidia{index}",gpu="{index}",'
        f'modelName="NVIDIA H100 80GB HBM3",node="{node}",pci_bus_id="{pci}"'
    )


def test_per_gpu_values_with_dcgm_compatible_labels_and_base_units() -> None:
    read = gpu(0, used_mib=1024, util=77, memory_reserved_bytes=538 * 2**20, power_limit_watts=700.0)
    view = AgentView(node="n1").after_cycle(node(read), 0.004, 1.7e9)
    samples = scrape(view)
    assert samples[f"gpu_node_agent_gpu_memory_used_bytes{{{key()}}}"] == 1024 * 1024 * 1024
    assert samples[f"gpu_node_agent_gpu_memory_reserved_bytes{{{key()}}}"] == 538 * 2**20
    assert samples[f"gpu_node_agent_gpu_utilization_ratio{{{key()}}}"] == 0.77
    assert samples[f"gpu_node_agent_gpu_power_limit_watts{{{key()}}}"] == 700
    assert samples[f"gpu_node_agent_gpu_healthy{{{key()}}}"] == 1
    assert samples['gpu_node_agent_up{node="n1"}'] == 1
    assert samples['gpu_node_agent_collection_duration_seconds{node="n1"}'] == 0.004
    assert samples['gpu_node_agent_last_successful_cycle_timestamp_seconds{node="n1"}'] == 1.7e9
    assert not any("_percent" in name for name in samples)
    # Not read (power, temperature): no sample rather than a made-up zero.
    assert not any(name.startswith("gpu_node_agent_gpu_power_watts{") for name in samples)


def test_agent_health_counters() -> None:
    view = AgentView(node="n1")
    for _ in range(3):
        view = view.after_cycle(NodeSnapshot(error="DriverNotLoaded"), 0.001, 1.0)
    view = view.after_cycle(node(gpu(0), gpu(1, lost=True, errors=("GpuIsLost",))), 0.001, 2.0)
    view = view.after_write(True, 5.0).after_write(False, 6.0)
    samples = scrape(view)
    assert samples['gpu_node_agent_nvml_errors_total{kind="DriverNotLoaded",node="n1"}'] == 3
    assert samples['gpu_node_agent_nvml_errors_total{kind="GpuIsLost",node="n1"}'] == 1
    assert samples['gpu_node_agent_label_writes_total{node="n1"}'] == 1
    assert samples['gpu_node_agent_label_write_failures_total{node="n1"}'] == 1
    assert samples['gpu_node_agent_last_label_write_timestamp_seconds{node="n1"}'] == 5.0
    # The three failed reads did not move the last successful cycle: the one good read at 2.0 did.
    assert samples['gpu_node_agent_last_successful_cycle_timestamp_seconds{node="n1"}'] == 2.0


def test_build_info_names_the_version() -> None:
    samples = scrape(AgentView(node="n1"))
    assert samples[f'gpu_node_agent_build_info{{node="n1",version="{__version__}"}}'] == 1
    # Before any successful cycle there is no timestamp rather than a 0 (which would read as 1970).
    assert not any("last_successful_cycle" in name for name in samples)


def test_up_is_zero_before_and_after_a_failed_read() -> None:
    assert scrape(AgentView(node="n"))['gpu_node_agent_up{node="n"}'] == 0
    failed = AgentView(node="n").after_cycle(NodeSnapshot(error="Unknown"), 0.0, 0.0)
    assert scrape(failed)['gpu_node_agent_up{node="n"}'] == 0


def test_collector_is_stateless_each_scrape_reflects_the_latest_view() -> None:
    views = [AgentView(node="n").after_cycle(node(gpu(util=u)), 0.0, 0.0) for u in (10, 20)]
    current = iter(views)
    registry = CollectorRegistry()
    registry.register(AgentCollector(lambda: next(current)))
    outputs = [generate_latest(registry).decode() for _ in views]
    assert "} 0.1\n" in outputs[0] and "} 0.2\n" in outputs[1] and "} 0.1\n" not in outputs[1]


def test_node_health_with_its_reason() -> None:
    view = AgentView(node="n1").after_cycle(node(gpu(0)), 0.0, 1.0, NodeHealth("read-failing"))
    assert scrape(view)['gpu_node_agent_node_healthy{node="n1",reason="read-failing"}'] == 0
    view = view.after_cycle(node(gpu(0)), 0.0, 2.0, NodeHealth())
    samples = scrape(view)
    assert samples['gpu_node_agent_node_healthy{node="n1",reason="ok"}'] == 1
    assert not any("read-failing" in name for name in samples)


def test_a_gpu_series_keeps_its_identity_through_a_failed_read() -> None:
    good = node(replace(gpu(0), pci_bus_id="00000000:3B:00.0"))
    blank = node(replace(gpu(0), uuid="", name="", pci_bus_id="", errors=("Unknown",)))
    history = ReadHistory().after(good).after(blank)
    view = AgentView(node="n1").after_cycle(history.complete(blank), 0.0, 1.0, history.health)
    assert scrape(view)[f"gpu_node_agent_gpu_healthy{{{key(pci='00000000:3B:00.0')}}}"] == 0
