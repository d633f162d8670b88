"""`gpu-node-agent selftest` against a fake `nvidia-smi` on PATH, over the emulated libnvidia-ml (simulated source):
what a real GPU machine would run, minus the GPU."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from gpu_node_agent.cli import main
from gpu_node_agent.selftest import parse_list, parse_query
from gpu_node_agent.simulated import SimulatedReader

NODE = """\
driverVersion: "550.54.15"
cudaDriverVersion: 12040
gpus:
  - {name: NVIDIA H100 80GB HBM3, uuid: GPU-11111111-2222-3333-4444-555555555555, memoryTotalMiB: 81559,
     memoryUsedMiB: 1024, utilization: 37, computeCapability: "9.0", migCapable: true}
  - {name: NVIDIA H100 80GB HBM3, uuid: GPU-66666666-7777-8888-9999-000000000000, memoryTotalMiB: 81559,
     computeCapability: "9.0", migCapable: true, migEnabled: true,
     migDevices: [{profile: 3g.40gb, count: 2, memoryMiB: 40192}]}
"""


def nvidia_smi(tmp_path: Path, query: str, listing: str) -> Path:
    """A fake `nvidia-smi` printing `query` for --query-gpu and `listing` for -L, put first on PATH."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (tmp_path / "query.txt").write_text(query)
    (tmp_path / "list.txt").write_text(listing)
    script = bin_dir / "nvidia-smi"
    # Python, not sh: the tests also run inside the agent's distroless image, which has no shell.
    script.write_text(
        f"#!{sys.executable}\nimport sys\n"
        f"if sys.argv[1] == '-L': print(open({str(tmp_path / 'list.txt')!r}).read(), end='')\n"
        f"elif sys.argv[1].startswith('--query-gpu='): print(open({str(tmp_path / 'query.txt')!r}).read(), end='')\n"
        "else: sys.exit('unexpected ' + ' '.join(sys.argv[1:]))\n"
    )
    script.chmod(0o755)
    return bin_dir


def real_looking(node_file: Path, total_mib: int = 81559) -> tuple[str, str]:
    """nvidia-smi's output for the simulated node, as the driver would print it (MIG UUIDs as the node has them)."""
    reader = SimulatedReader(node_file, watch_xid=False)
    reader.open()
    migs = reader.read().gpus[1].mig_devices
    reader.close()
    query = (
        f"0, GPU-11111111-2222-3333-4444-555555555555, NVIDIA H100 80GB HBM3, {total_mib}, 1024, 37\n"
        "1, GPU-66666666-7777-8888-9999-000000000000, NVIDIA H100 80GB HBM3, 81559, 0, [N/A]\n"
    )
    listing = (
        "GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-11111111-2222-3333-4444-555555555555)\n"
        "GPU 1: NVIDIA H100 80GB HBM3 (UUID: GPU-66666666-7777-8888-9999-000000000000)\n"
        + "".join(f"  MIG 3g.40gb     Device  {n}: (UUID: {m.uuid})\n" for n, m in enumerate(migs))
    )
    return query, listing


@pytest.fixture
def node_file(tmp_path: Path) -> Path:
    path = tmp_path / "node.yaml"
    path.write_text(NODE)
    return path


def run(tmp_path: Path, node_file: Path, bin_dir: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[int, dict]:
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    out = tmp_path / "result.json"
    code = main(["selftest", "--gpu-source", f"simulated:{node_file}", "--out", str(out), "--cycles", "3"], env={})
    return code, json.loads(out.read_text())


def test_an_agreeing_machine_passes_and_the_result_is_written(
    tmp_path: Path, node_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, result = run(tmp_path, node_file, nvidia_smi(tmp_path, *real_looking(node_file)), monkeypatch)
    assert code == 0 and result["ok"] and result["driver_version"] == "550.54.15"
    checks = {(c["gpu"], c["field"]): c for c in result["checks"]}
    assert checks[("0", "memory.used MiB")]["agent"] == 1024 and checks[("0", "utilization.gpu %")]["ok"]
    migs = checks[("1/MIG", "devices (profile, UUID)")]
    assert len(migs["agent"]) == 2 and migs["ok"]
    assert checks[("1", "memory.total MiB")]["ok"] is None  # a MIG parent's total: reported, not judged
    assert result["timing"]["agent_read_ms_median"] > 0 and result["timing"]["nvidia_smi_ms_median"] > 0
    printed = capsys.readouterr().out
    assert "selftest: ok" in printed and "nvidia-smi query" in printed


def test_a_disagreement_fails_and_says_where(
    tmp_path: Path, node_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    smi = nvidia_smi(tmp_path, *real_looking(node_file, total_mib=40960))
    code, result = run(tmp_path, node_file, smi, monkeypatch)
    assert code == 1 and not result["ok"]
    bad = [(c["gpu"], c["field"]) for c in result["checks"] if c["ok"] is False]
    assert bad == [("0", "memory.total MiB")]
    assert "MISMATCH" in capsys.readouterr().out


def test_without_nvidia_smi_it_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["selftest", "--nvidia-smi", "no-such-nvidia-smi"], env={}) == 2
    assert "not found" in capsys.readouterr().err


def test_nvidia_smi_outputs_parse() -> None:
    rows = parse_query("0, GPU-a, NVIDIA A100-SXM4-40GB, 40960, [N/A], [Not Supported]\n")
    assert rows["GPU-a"]["memory.used"] is None and rows["GPU-a"]["name"] == "NVIDIA A100-SXM4-40GB"
    listing = "GPU 0: NVIDIA A100 (UUID: GPU-a)\n  MIG 1g.5gb+me   Device  0: (UUID: MIG-b)\nGPU 1: X (UUID: GPU-c)\n"
    assert parse_list(listing) == {"GPU-a": [("1g.5gb+me", "MIG-b")], "GPU-c": []}
