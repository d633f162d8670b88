"""The commands as a user runs them: readout, run (SIGTERM), exit codes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pynvml
import pytest
from fake_apiserver import FakeApiServer

from gpu_node_agent.cli import main

P = "node-agent.gpu-node-pools.io/"


def test_readout_of_the_example_file(examples_dir: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["readout", "--gpu-source", f"simulated:{examples_dir}/8x-h100.yaml"], env={}) == 0
    out = capsys.readouterr().out
    assert "NVIDIA H100 80GB HBM3" in out and f"{P}gpu.product=NVIDIA-H100-80GB-HBM3" in out
    assert out.count("\n7    NVIDIA H100") == 1


def test_readout_json(examples_dir: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            ["readout", "--json", "--gfd-labels"],
            env={"GPU_NODE_AGENT_GPU_SOURCE": f"simulated:{examples_dir}/1x-t4.yaml"},
        )
        == 0
    )
    data = json.loads(capsys.readouterr().out)
    assert data["labels"]["nvidia.com/gpu.product"] == "Tesla-T4" and data["node"]["gpus"][0]["index"] == 0


def test_readout_without_nvml_exits_2_with_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def missing() -> None:
        raise pynvml.NVMLError_LibraryNotFound()

    monkeypatch.setattr(pynvml, "nvmlInit", missing)
    assert main(["readout"], env={}) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and len(captured.err.splitlines()) == 1
    assert captured.err.startswith("error: NVML library (libnvidia-ml.so.1) not found")


def test_readout_with_driver_not_loaded_exits_2(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    def not_loaded() -> None:
        raise pynvml.NVMLError_DriverNotLoaded()

    monkeypatch.setattr(pynvml, "nvmlInit", not_loaded)
    assert main(["readout"], env={}) == 2
    assert capsys.readouterr().err.startswith("error: NVIDIA driver not loaded")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["readout", "--gpu-source", "simulated:/nonexistent.yaml"], "error: /nonexistent.yaml: cannot read"),
        (["run", "--interval", "x", "--dry-run"], "error: --interval='x': not a float"),
    ],
)
def test_bad_input_exits_2_naming_it(argv: list[str], message: str, capsys) -> None:
    assert main(argv, env={}) == 2
    assert capsys.readouterr().err.startswith(message)


def test_run_serves_metrics_and_exits_cleanly_on_sigterm(examples_dir: str) -> None:
    env = {**os.environ, "GPU_NODE_AGENT_GPU_SOURCE": f"simulated:{examples_dir}/8x-h100.yaml", "NODE_NAME": "n1"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gpu_node_agent.cli",
            "run",
            "--dry-run",
            "--port",
            "0",
            "--address",
            "127.0.0.1",
            "--interval",
            "1",
        ],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        port = None
        assert proc.stderr is not None
        for line in proc.stderr:
            if "serving /metrics" in line:
                port = int(line.rsplit(":", 1)[1])
                break
        assert port, "agent never started serving"
        base = f"http://127.0.0.1:{port}"
        assert urllib.request.urlopen(f"{base}/healthz", timeout=5).status == 200
        deadline = time.monotonic() + 10  # the first cycle runs just after the server starts
        while (
            'gpu_node_agent_up{node="n1"} 1.0'
            not in (text := urllib.request.urlopen(f"{base}/metrics", timeout=5).read().decode())
        ):
            assert time.monotonic() < deadline, "no successful cycle within 10 s"
            time.sleep(0.05)
        # The process collector is registered: the agent's own memory and CPU, as every exporter has.
        assert "process_resident_memory_bytes" in text and "process_cpu_seconds_total" in text
        assert 'gpu_node_agent_gpu_power_limit_watts{' in text and 'gpu_node_agent_gpu_memory_reserved_bytes{' in text
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        assert "stopped" in proc.stderr.read()
        with pytest.raises(urllib.error.URLError):
            urllib.request.urlopen(f"{base}/healthz", timeout=2)  # server closed
    finally:
        proc.kill()
        proc.wait()


def test_run_without_nvml_exits_2_before_serving(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    def missing() -> None:
        raise pynvml.NVMLError_LibraryNotFound()

    monkeypatch.setattr(pynvml, "nvmlInit", missing)
    assert main(["run", "--dry-run", "--port", "0", "--address", "127.0.0.1"], env={}) == 2
    assert capsys.readouterr().err.startswith("error: NVML library (libnvidia-ml.so.1) not found")


def _kubeconfig(tmp_path: Path, server: str, token_file: Path) -> Path:
    path = tmp_path / "kubeconfig"
    path.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "local",
                "clusters": [{"name": "local", "cluster": {"server": server}}],
                "users": [{"name": "agent", "user": {"tokenFile": str(token_file)}}],
                "contexts": [{"name": "local", "context": {"cluster": "local", "user": "agent"}}],
            }
        )
    )
    return path


def test_run_as_a_host_process_labels_its_node_heartbeats_and_cluster_shows_it(
    examples_dir: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token = tmp_path / "token"
    token.write_text("token-1")
    with FakeApiServer() as api:
        api.add_node("n1", {"gpu-node-pools.io/pool": "training", "nvidia.com/gpu.present": "true"})
        kubeconfig = _kubeconfig(tmp_path, api.url, token)
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gpu_node_agent.cli",
                "run",
                "--kubeconfig",
                str(kubeconfig),
                "--node-name",
                "n1",
                "--port",
                "0",
                "--address",
                "127.0.0.1",
                "--interval",
                "1",
                "--gpu-source",
                f"simulated:{examples_dir}/8x-h100.yaml",
            ],
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + 15
            while not ("n1" in api.leases and f"{P}gpu.health" in api.nodes["n1"]["metadata"]["labels"]):
                assert time.monotonic() < deadline, "no label write and heartbeat within 15 s"
                time.sleep(0.1)
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=10) == 0
        finally:
            proc.kill()
            proc.wait()
        labels = api.nodes["n1"]["metadata"]["labels"]
        assert labels[f"{P}gpu.product"] == "NVIDIA-H100-80GB-HBM3" and labels["gpu-node-pools.io/pool"] == "training"
        assert main(["cluster", "--kubeconfig", str(kubeconfig), "--json"], env={}) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert (row["node"], row["pool"], row["gpus"], row["product"], row["health"]) == (
        "n1",
        "training",
        None,
        "NVIDIA-H100-80GB-HBM3",
        "ok",
    )
    assert row["last_report_seconds"] < 30 and not row["stale"]
