"""The component package's public API, as the real CLI infers it: `pulumi package get-schema` of package/.

package/schema.json is committed so that a change to what other languages see shows in review; `make generate`
rewrites it.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess

import pytest
from gnp_pulumi import ROOT

pytestmark = pytest.mark.pulumi


def test_get_schema_matches_the_committed_snapshot(tmp_path, toolchain_path: str) -> None:
    env = {**os.environ, "PATH": f"{toolchain_path}:{ROOT / '.venv' / 'bin'}:{os.environ['PATH']}",
           "PULUMI_HOME": str(tmp_path), "PULUMI_SKIP_UPDATE_CHECK": "true",
           "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true"}
    proc = subprocess.run(["pulumi", "package", "get-schema", "./package"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]

    schema = json.loads(proc.stdout)
    committed = json.loads((ROOT / "package" / "schema.json").read_text())
    assert schema == committed, "the package's schema changed: review it, then `make generate` to commit it"
    assert schema["version"] == importlib.metadata.version("gpu-node-pools")
    assert {token.split(":")[-1] for token in schema["resources"]} == {
        "GpuPlatform", "NodePool", "ElasticNodePool", "DevicePlugin", "MetricsServer", "PriorityClasses",
        "WorkloadNamespaces", "NodeAgent", "Monitoring"}
