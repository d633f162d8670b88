from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(1, str(Path(__file__).parent.parent))  # k8s_schema

SKIP_ENV = "GNP_SKIP_CLUSTER"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # The promtool tests need the Go-built toolchain, which GNP_SKIP_CLUSTER=1 runs do not build.
    if os.environ.get(SKIP_ENV) != "1":
        return
    skip = pytest.mark.skip(reason=f"{SKIP_ENV}=1: tests needing the Go-built toolchain skipped on request")
    for item in items:
        if "cluster" in item.keywords and Path(str(item.fspath)).parent == Path(__file__).parent:
            item.add_marker(skip)
