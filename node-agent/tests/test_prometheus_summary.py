"""`cluster --prometheus`: the per-pool summary and the firing GPU alerts, from Prometheus API answers."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from gpu_node_agent.cluster import ClusterRow
from gpu_node_agent.prometheus_summary import (
    PrometheusData,
    fetch_prometheus,
    firing_gpu_alerts,
    pool_summary,
    render_alerts,
    render_pools,
)

GIB = 2**30


def row(node: str, pool: str | None, gpus: str | None) -> ClusterRow:
    return ClusterRow(node, pool, (), gpus, None, None, None, None, None, None, None, True)


def sample(node: str, gpu: str, value: float) -> dict[str, Any]:
    return {"metric": {"node": node, "gpu": gpu, "UUID": f"GPU-{node}-{gpu}"}, "value": [1.0, str(value)]}


ROWS = [row("a1", "train", "2"), row("a2", "train", "2"), row("b1", "serve", "1"), row("c1", None, None)]
DATA = PrometheusData(
    series={
        "utilization": [sample("a1", "0", 0.9), sample("a1", "1", 0.01), sample("a2", "0", 0.0),
                        sample("a2", "1", 0.05), sample("b1", "0", 0.3), sample("zz", "0", 1.0)],
        "used": [sample("a1", "0", 20 * GIB), sample("a1", "1", 1 * GIB), sample("a2", "0", 0),
                 sample("a2", "1", 3 * GIB), sample("b1", "0", 12 * GIB)],
        "total": [sample(n, g, 24 * GIB) for n, g in (("a1", "0"), ("a1", "1"), ("a2", "0"), ("a2", "1"), ("b1", "0"))],
    },
    alerts=[
        {"state": "firing", "labels": {"alertname": "GpuMemoryPressure", "severity": "warning", "node": "a1"},
         "annotations": {"summary": "GPU memory nearly full."}},
        {"state": "firing", "labels": {"alertname": "GpuLost", "severity": "critical", "node": "b1"},
         "annotations": {"summary": "A GPU fell off the bus."}},
        {"state": "pending", "labels": {"alertname": "GpuUnhealthy", "severity": "warning", "node": "a2"}},
        {"state": "firing", "labels": {"alertname": "NodeCPUHighUsage", "severity": "info", "instance": "x"}},
    ],
)


def test_pools_count_gpus_busy_idle_and_memory() -> None:
    summary = {p.pool: p for p in pool_summary(ROWS, DATA)}
    train = summary["train"]
    # a GPU at exactly the idle limit counts as in use; unknown nodes (zz) belong to no pool
    assert (train.nodes, train.gpus, train.in_use, train.idle) == (2, 4, 2, 2)
    assert (train.memory_used_bytes, train.memory_total_bytes) == (24 * GIB, 96 * GIB)
    assert (summary["serve"].in_use, summary["serve"].idle) == (1, 0)
    # a node without agent series: counted, but no live numbers rather than zeros
    assert (summary["-"].gpus, summary["-"].in_use, summary["-"].memory_total_bytes) == (0, None, None)
    table = render_pools(list(summary.values()))
    assert "24.0/96.0 GiB (25%)" in table


def test_only_firing_gpu_alerts_most_severe_first() -> None:
    firing = firing_gpu_alerts(DATA.alerts)
    assert [a["labels"]["alertname"] for a in firing] == ["GpuLost", "GpuMemoryPressure"]
    assert "A GPU fell off the bus." in render_alerts(firing)
    assert render_alerts([]) == "no GPU alert firing"


@pytest.fixture
def prometheus_api() -> Iterator[str]:
    """A stand-in Prometheus HTTP API answering the queries with DATA (the real one runs in tests/integration)."""
    answers = {
        "gpu_node_agent_gpu_utilization_ratio": DATA.series["utilization"],
        "gpu_node_agent_gpu_memory_used_bytes": DATA.series["used"],
        "gpu_node_agent_gpu_memory_total_bytes": DATA.series["total"],
    }

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            from urllib.parse import parse_qs, urlparse

            url = urlparse(self.path)
            if url.path == "/api/v1/alerts":
                body = {"status": "success", "data": {"alerts": list(DATA.alerts)}}
            else:
                query = parse_qs(url.query)["query"][0]
                body = {"status": "success", "data": {"resultType": "vector", "result": answers[query]}}
            payload = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_fetch_reads_the_query_and_alerts_api(prometheus_api: str) -> None:
    data = fetch_prometheus(prometheus_api)
    assert pool_summary(ROWS, data) == pool_summary(ROWS, DATA)
    assert firing_gpu_alerts(data.alerts) == firing_gpu_alerts(DATA.alerts)


def test_an_unreachable_prometheus_is_an_error() -> None:
    with pytest.raises(OSError):
        fetch_prometheus("http://127.0.0.1:9", timeout=2)
