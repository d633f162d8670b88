"""`gpu-node-pools rightsize` end to end: against a real Prometheus (built from its Go module) holding the fleet's
day, and its errors: Prometheus unreachable, answering an error, or without the series the report needs."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest
from gpu_node_pools.cli import main
from gpu_node_pools.prometheus_api import fetch_answers
from gpu_node_pools.rightsize import Window
from rightsize_fleet import EXPECTED
from rightsize_prometheus import empty_prometheus, fleet_prometheus

DATA = Path(__file__).resolve().parents[1] / "data" / "rightsize"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["rightsize", *args])
    out, err = capsys.readouterr()
    return code, out, err


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_prometheus_is_named(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    code, out, err = run(capsys, "--prometheus", url)
    assert (code, out) == (2, "")
    assert err.startswith(f"error: cannot reach Prometheus at {url} (--prometheus): ")
    assert "Connection refused" in err


@pytest.mark.parametrize(("args", "message"), [
    (["--prometheus", "localhost:9090"], "error: --prometheus 'localhost:9090': not an http:// or https:// URL"),
    (["--prometheus", "http://x", "--window", "7days"],
     "error: --window '7days': not a duration (like 7d, 12h or 1h30m)"),
    (["--prometheus", "http://x", "--window", "1h", "--step", "2h"], "error: --step '2h' is longer than --window '1h'"),
])
def test_bad_flags_are_named(capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    code, out, err = run(capsys, *args)
    assert (code, out, err.strip()) == (2, "", message)


@pytest.mark.toolchain
def test_report_against_a_real_prometheus(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The fleet's day, ending five minutes ago, backfilled into Prometheus: the JSON report over the last day (one
    step a minute, the default for 1d) says what the recorded answers say."""
    with fleet_prometheus(tmp_path, end=time.time() // 60 * 60 - 300) as url:
        code, out, err = run(capsys, "--prometheus", url, "--window", "1d", "--json")
        assert code == 0, err
        report = json.loads(out)
        table_code, table, _ = run(capsys, "--prometheus", url, "--window", "1d")
    assert report["window"]["stepSeconds"] == 60
    found = {(w["namespace"], w["kind"], w["name"]): w for w in report["workloads"]}
    assert {k: (w["recommendation"]["action"], w["recommendation"]["target"]) for k, w in found.items()} == EXPECTED
    assert {w["ownerFrom"] for w in found.values()} == {"kube_pod_owner"}
    # At one step a minute the bursts are sharp: 12 bursts of 25 minutes a day leave the worker idle 79 % of it.
    assert found[("batch", "Deployment", "queue-worker")]["idleShare"] == pytest.approx(1 - 12 * 25 / 1440, abs=0.01)
    assert {p["pool"]: p["gpus"] for p in report["pools"]} == {"gpu-a10g": 6, "gpu-h100": 16, "gpu-l40s": 1}
    assert table_code == 0 and "Deployment/embedder" in table and "time-slicing x4" in table


@pytest.mark.toolchain
def test_recorded_answers_are_what_prometheus_answers(tmp_path: Path) -> None:
    """tests/data/rightsize/fleet-day.json is reproducible: the same day, the same queries, the same answers."""
    recorded = json.loads((DATA / "fleet-day.json").read_text())
    window = Window(**recorded["window"])
    with fleet_prometheus(tmp_path, end=window.end) as url:
        assert fetch_answers(url, window) == recorded["answers"]


@pytest.mark.toolchain
def test_missing_pod_attribution_says_what_to_turn_on(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with fleet_prometheus(tmp_path, end=time.time() // 60 * 60 - 300, attribute=False,
                          kube_state_metrics=False) as url:
        code, out, err = run(capsys, "--prometheus", url, "--window", "1d")
    assert (code, out) == (3, "")
    assert err.startswith(f"error: Prometheus at {url}: no gpu_node_agent_gpu_utilization_ratio or "
                          "gpu_node_agent_gpu_memory_used_bytes series with a `pod` label")
    assert "nodeAgent.podResources: true" in err and "--pod-resources" in err


@pytest.mark.toolchain
def test_prometheus_without_agent_series_and_its_own_errors(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    with empty_prometheus(tmp_path) as url:
        code, out, err = run(capsys, "--prometheus", url, "--window", "1h")
        assert (code, out) == (3, "")
        assert err.strip() == (f"error: Prometheus at {url}: no gpu_node_agent_gpu_utilization_ratio series in the "
                               "window: is Prometheus scraping the node agent? `gpu-node-pools alerts --scrape-config "
                               "--stack NAME` prints the scrape job")
        # More than Prometheus' 11,000 points a series: its 400 and its words come through.
        code, out, err = run(capsys, "--prometheus", url, "--window", "30d", "--step", "1m")
    assert (code, out) == (2, "")
    assert err.startswith(f"error: Prometheus at {url} answered 400 to 'avg_over_time(")
    assert "11,000 points" in err
