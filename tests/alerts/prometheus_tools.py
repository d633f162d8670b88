"""prometheus and promtool built from the Prometheus Go module (tools/prometheus), for the tests that run them.

Tests that need them are marked `toolchain`: skipped only when GNP_SKIP_CLUSTER=1, otherwise a missing binary is
built, and a failed build is an error.
"""

from __future__ import annotations

import functools
import shlex
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@functools.cache
def prometheus_binaries() -> dict[str, str]:
    """{"GNP_PROMETHEUS": path, "GNP_PROMTOOL": path} (tools/prometheus/build.sh builds what is missing)."""
    proc = subprocess.run([str(ROOT / "tools" / "prometheus" / "build.sh")], capture_output=True, text=True)
    if proc.returncode != 0:
        raise AssertionError(f"tools/prometheus/build.sh failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    pairs = (line.removeprefix("export ").split("=", 1) for line in proc.stdout.splitlines() if "=" in line)
    return {name: shlex.split(value)[0] for name, value in pairs}


def promtool(*args: str, cwd: Path | None = None, input: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [prometheus_binaries()["GNP_PROMTOOL"], *args], cwd=cwd, input=input, capture_output=True, text=True,
        timeout=120,
    )


@functools.cache
def operator_crds() -> Path:
    """prometheus-operator's example/prometheus-operator-crd folder at the pinned version (module cache)."""
    proc = subprocess.run(
        ["bash", "-c", 'source "$1/tools/lib.sh"; load_sets; prometheus_operator_crds', "_", str(ROOT)],
        capture_output=True, text=True,
    )
    if proc.returncode != 0:
        raise AssertionError(f"could not fetch prometheus-operator's CRDs:\n{proc.stderr[-2000:]}")
    return Path(proc.stdout.strip())
