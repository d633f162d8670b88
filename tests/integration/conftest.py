"""Fixtures for tests on the local cluster; they live in gnp_cluster.py, importable under that unique name."""

import sys
from pathlib import Path

# tests/pulumi loads this file by path; make its sibling importable there too.
sys.path.insert(0, str(Path(__file__).parent))

from gnp_cluster import (  # noqa: E402
    SKIP_ENV,
    local_cluster,
    local_layer,
    namespace,
    pytest_collection_modifyitems,
    render_stack,
)

__all__ = ["SKIP_ENV", "local_cluster", "local_layer", "namespace", "pytest_collection_modifyitems", "render_stack"]
