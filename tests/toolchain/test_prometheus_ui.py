"""The local stack's Prometheus serves its web UI: the binary tools/prometheus builds (UI embedded with
`builtinassets`) answers the query page, and a real browser renders the app, runs a query and draws its graph.
A binary built without the UI answers 500 ("Error opening React index.html") on every UI page."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from headless_chromium import rendered_dom, visible_text
from prometheus_tools import prometheus_binaries
from rightsize_prometheus import fleet_prometheus

pytestmark = [pytest.mark.toolchain, pytest.mark.browser]
ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _up_has_a_sample(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/api/v1/query?query=up", timeout=2) as response:
            return bool(json.load(response)["data"]["result"])
    except OSError:
        return False


@pytest.fixture
def self_scraping_prometheus(tmp_path: Path) -> Iterator[tuple[str, int]]:
    """(URL, port) of the built prometheus scraping itself every second, once `up` has its first sample."""
    port = _free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text("global: {scrape_interval: 1s}\nscrape_configs:\n"
                      f"  - job_name: self\n    static_configs: [{{targets: ['127.0.0.1:{port}']}}]\n")
    log_path = tmp_path / "prometheus.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen([
            prometheus_binaries()["GNP_PROMETHEUS"], f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}", f"--web.listen-address=127.0.0.1:{port}",
        ], stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while not _up_has_a_sample(url):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"prometheus never had a sample of `up`:\n{log_path.read_text()[-3000:]}")
                time.sleep(0.3)
            yield url, port
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _query_page(url: str, tab: str) -> str:
    return f"{url}/query?" + urllib.parse.urlencode({"g0.expr": "up", "g0.tab": tab, "g0.range_input": "5m"})


def test_the_query_page_renders_the_app_and_a_query_result_in_a_browser(
        self_scraping_prometheus: tuple[str, int], tmp_path: Path) -> None:
    url, port = self_scraping_prometheus
    text = visible_text(rendered_dom(_query_page(url, "table"), tmp_path / "chromium"))

    # Only the running React app writes these: the nav, the expression's result count and its one series as a row.
    assert "Query Alerts Status" in text, f"the app did not render; the page reads: {text[:800]!r}"
    assert "Result series: 1" in text, text[:2000]
    assert f'up{{instance="127.0.0.1:{port}",job="self"}}1' in text.replace(" ", ""), text[:2000]


def test_the_graph_tab_draws_the_series_in_a_browser(
        self_scraping_prometheus: tuple[str, int], tmp_path: Path) -> None:
    url, port = self_scraping_prometheus
    dom = rendered_dom(_query_page(url, "graph"), tmp_path / "chromium")

    assert 'class="uplot' in dom, f"no chart drawn; the page reads: {visible_text(dom)[:800]!r}"
    assert f'up{{instance="127.0.0.1:{port}", job="self"}}' in visible_text(dom), visible_text(dom)[:2000]


def test_the_per_workload_graph_make_up_links_to_draws_every_workload(tmp_path: Path) -> None:
    """The expression of the link `make up` prints, over the rightsize fleet's hour of agent series: one line per
    GPU pod in the chart's legend, the same series Prometheus' API returns for it."""
    expr = re.search(r"'(avg by \(namespace, pod\) \(gpu_node_agent_gpu_utilization_ratio[^']*)'",
                     (ROOT / "scripts" / "up.sh").read_text())
    assert expr, "scripts/up.sh no longer prints the per-workload graph link"
    with fleet_prometheus(tmp_path, end=time.time() // 60 * 60 - 60) as url:
        now = time.time()
        query = urllib.parse.urlencode({"query": expr[1], "start": now - 900, "end": now, "step": 15})
        with urllib.request.urlopen(f"{url}/api/v1/query_range?{query}", timeout=10) as response:
            series = [r["metric"] for r in json.load(response)["data"]["result"]]
        graph = {"g0.expr": expr[1], "g0.tab": "graph", "g0.range_input": "15m"}
        dom = rendered_dom(f"{url}/query?" + urllib.parse.urlencode(graph), tmp_path / "chromium")

    assert len(series) >= 2, series
    assert 'class="uplot' in dom, f"no chart drawn; the page reads: {visible_text(dom)[:800]!r}"
    text = visible_text(dom)
    missing = [s for s in series if f'{{namespace="{s["namespace"]}", pod="{s["pod"]}"}}' not in text]
    assert not missing, f"not in the chart's legend: {missing}; the page reads: {text[:2000]!r}"
