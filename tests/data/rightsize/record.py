"""Records the rightsize report's input: the fleet's day (tests/rightsize/rightsize_fleet.py) backfilled into a real
Prometheus, and that server's answers to the report's queries, written as JSON beside this file.

    .venv/bin/python tests/data/rightsize/record.py

Each file: {"window": {"end", "seconds", "step"}, "answers": {query name: the HTTP API's `data`}}.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
sys.path[:0] = [str(ROOT / "tests" / "rightsize"), str(ROOT / "tests" / "alerts")]

from gpu_node_pools.prometheus_api import fetch_answers  # noqa: E402
from gpu_node_pools.rightsize import Window  # noqa: E402
from rightsize_prometheus import fleet_prometheus  # noqa: E402

END = 1764547200.0  # 2025-12-01T00:00:00Z
RECORDINGS = {
    # name: (the fleet's switches, the report's step)
    "fleet-day": ({}, 600),
    "fleet-day-no-pod-resources": ({"attribute": False, "kube_state_metrics": False}, 3600),
}


def main() -> None:
    for name, (switches, step) in RECORDINGS.items():
        window = Window(end=END, seconds=86400, step=step)
        with tempfile.TemporaryDirectory() as tmp, fleet_prometheus(Path(tmp), END, **switches) as url:
            answers = fetch_answers(url, window)
        recorded = {"window": {"end": window.end, "seconds": window.seconds, "step": window.step},
                    "answers": answers}
        (HERE / f"{name}.json").write_text(json.dumps(recorded, separators=(",", ":")) + "\n")
        print(f"{name}.json: {len(json.dumps(recorded)) // 1024} KiB")


if __name__ == "__main__":
    main()
