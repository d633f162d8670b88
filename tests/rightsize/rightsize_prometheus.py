"""A real Prometheus holding the fleet's day (rightsize_fleet): its samples backfilled with `promtool tsdb
create-blocks-from openmetrics`, then the server started on that TSDB, answering the report's queries."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from prometheus_tools import prometheus_binaries, promtool
from rightsize_fleet import openmetrics

__all__ = ["fleet_prometheus", "empty_prometheus"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _serve(tsdb: Path, workdir: Path) -> Iterator[str]:
    port = _free_port()
    (workdir / "prometheus.yml").write_text("global: {scrape_interval: 1m}\n")
    log = (workdir / "prometheus.log").open("wb")
    proc = subprocess.Popen([
        prometheus_binaries()["GNP_PROMETHEUS"], f"--config.file={workdir / 'prometheus.yml'}",
        f"--storage.tsdb.path={tsdb}", "--storage.tsdb.retention.time=100y",
        f"--web.listen-address=127.0.0.1:{port}",
    ], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/-/ready", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log_text = (workdir / "prometheus.log").read_text()[-3000:]
                raise AssertionError(f"prometheus did not get ready:\n{log_text}")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@contextmanager
def fleet_prometheus(workdir: Path, end: float, **fleet: bool) -> Iterator[str]:
    """The URL of a Prometheus whose TSDB holds the fleet's day ending at `end` (openmetrics' keyword arguments)."""
    source, tsdb = workdir / "fleet.om", workdir / "tsdb"
    source.write_text(openmetrics(end, **fleet))
    made = promtool("tsdb", "create-blocks-from", "openmetrics", str(source), str(tsdb))
    assert made.returncode == 0, made.stdout[-2000:] + made.stderr[-2000:]
    with _serve(tsdb, workdir) as url:
        yield url


@contextmanager
def empty_prometheus(workdir: Path) -> Iterator[str]:
    with _serve(workdir / "tsdb", workdir) as url:
        yield url
