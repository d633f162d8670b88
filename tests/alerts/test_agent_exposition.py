"""The agent's real /metrics (its metrics server over the simulated GPU source) under `promtool check metrics`,
and against the series names the rules and dashboard use."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from agent_series import AGENT_SERIES, STABLE_SERIES
from gpu_node_pools.alerts import alerts
from gpu_node_pools.config.alerts import AlertsConfig
from prometheus_tools import ROOT, promtool


@pytest.fixture(scope="module")
def exposition(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = tmp_path_factory.mktemp("agent") / "agent.log"
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "gpu-node-agent"), "run", "--dry-run", "--node-name", "gpu-test",
         "--gpu-source", f"simulated:{ROOT / 'node-agent' / 'examples' / '8x-h100.yaml'}",
         "--address", "127.0.0.1", "--port", str(port), "--interval", "1"],
        stdout=log.open("w"), stderr=subprocess.STDOUT,
    )
    try:
        deadline, text = time.monotonic() + 30, ""
        while time.monotonic() < deadline and "gpu_node_agent_gpu_memory_used_bytes{" not in text:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as resp:
                    text = resp.read().decode()
            except OSError:
                time.sleep(0.3)
        assert "gpu_node_agent_gpu_memory_used_bytes{" in text, log.read_text()[-2000:]
        yield text
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def exposed_names(text: str) -> set[str]:
    return set(re.findall(r"^# TYPE (\S+) ", text, re.M)) | {
        n + "_total" for n in re.findall(r"^# TYPE (\S+) counter", text, re.M)}


# dcgm-exporter's label names, kept so dashboards and alerts join across both exporters (docs/node-agent.md); the
# only names allowed past promtool's snake_case lint.
DCGM_LABELS = ("UUID", "modelName", "Hostname", "GPU_I_PROFILE", "GPU_I_ID")


def without_dcgm_labels(text: str) -> str:
    return re.sub(rf'(?<=[{{,])(?:{"|".join(DCGM_LABELS)})="[^"]*",?', "", text).replace(",}", "}")


@pytest.mark.toolchain
def test_exposition_parses_under_promtool(exposition: str) -> None:
    proc = promtool("check", "metrics", "--lint=none", "--extended", input=exposition)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.toolchain
def test_exposition_passes_every_promtool_lint_but_the_dcgm_label_names(exposition: str) -> None:
    assert 'UUID="' in exposition and 'modelName="' in exposition
    proc = promtool("check", "metrics", input=without_dcgm_labels(exposition))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_series_the_end_to_end_proof_uses_are_exposed(exposition: str) -> None:
    assert STABLE_SERIES - {"up"} <= exposed_names(exposition)


def test_every_agent_series_in_the_rules_is_a_spec_name() -> None:
    used = {m for a in alerts(AlertsConfig()) for m in re.findall(r"\bgpu_node_agent_\w+", a.expr)}
    assert used and used <= AGENT_SERIES, sorted(used - AGENT_SERIES)


def test_the_agent_exposes_every_spec_name_the_rules_use(exposition: str) -> None:
    used = {m for a in alerts(AlertsConfig()) for m in re.findall(r"\bgpu_node_agent_\w+", a.expr)}
    assert used <= exposed_names(exposition), sorted(used - exposed_names(exposition))
