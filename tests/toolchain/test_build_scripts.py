"""The toolchain scripts on a fresh machine: what they read from the module cache resolves from an empty one,
and each build step reports progress a person can follow (tools/lib.sh run_step, tools/build.sh)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _bash(script: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", f"set -euo pipefail; source {ROOT}/tools/lib.sh; {script}"],
                          capture_output=True, text=True, env={**os.environ, **env}, timeout=120)


@pytest.mark.toolchain
@pytest.mark.network  # an empty module cache, on purpose
def test_every_module_the_builds_read_resolves_from_an_empty_module_cache(tmp_path: Path) -> None:
    """The check that would have caught `cp: cannot stat '/cmd/pulumi-resource-kubernetes'` on a fresh machine."""
    env = {**os.environ, "GOMODCACHE": str(tmp_path / "mod"),
           "GOFLAGS": f"-modcacherw {os.environ.get('GOFLAGS', '')}".strip()}
    proc = subprocess.run([str(ROOT / "tools" / "build.sh"), "--check-sources"], capture_output=True, text=True,
                          env=env, timeout=600)

    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "pulumi-resource-kubernetes" in proc.stderr
    assert (tmp_path / "mod" / "github.com" / "pulumi").is_dir()


@pytest.mark.toolchain
@pytest.mark.network  # an empty module cache, on purpose
def test_module_dir_downloads_a_module_the_cache_does_not_hold_yet(tmp_path: Path) -> None:
    env = {"GOMODCACHE": str(tmp_path / "mod"), "GOFLAGS": "-modcacherw", "GONOSUMDB": "github.com/pulumi"}
    proc = _bash("module_dir tools/pulumi/cli github.com/pulumi/pulumi/sdk/v3", env)

    assert proc.returncode == 0, proc.stderr
    folder = Path(proc.stdout.strip())
    assert folder.is_relative_to(tmp_path / "mod")
    assert (folder / "python" / "cmd" / "pulumi-language-python-exec").is_file()


def test_a_step_says_what_it_builds_and_how_long_it_took_here(tmp_path: Path) -> None:
    env = {"GNP_CACHE": str(tmp_path)}
    first = _bash("run_step 1 2 demo 'demo tool v1' 90 bash -c 'echo go: downloading x; echo built'", env)
    log = (tmp_path / "logs" / "demo.log").read_text()
    second = _bash("run_step 2 2 demo 'demo tool v1' 90 true", env)

    assert first.returncode == 0 and second.returncode == 0
    assert re.search(r"\[1/2\] demo tool v1: building, first build here, about 1m30s on 2 cores", first.stderr)
    assert re.search(r"\[1/2\] demo tool v1: built in \d+s", first.stderr)
    assert "go: downloading" not in first.stderr + first.stdout, "Go output belongs in the log, not the console"
    assert "go: downloading x" in log
    assert re.search(r"\[2/2\] demo tool v1: building, expected \d+s \(last build here\)", second.stderr)


def test_a_failed_step_prints_its_log_and_fails(tmp_path: Path) -> None:
    proc = _bash("run_step 1 1 broken 'broken tool' 10 bash -c 'echo the compiler said no; exit 3'",
                 {"GNP_CACHE": str(tmp_path)})

    assert proc.returncode == 3
    assert "the compiler said no" in proc.stderr
    assert "broken tool: FAILED" in proc.stderr
    assert not (tmp_path / "timings" / "broken").exists(), "a failed build must not set the next estimate"


def test_the_set_list_names_every_toolchain_binary() -> None:
    proc = subprocess.run([str(ROOT / "tools" / "build.sh"), "--list"], capture_output=True, text=True, check=True)
    listed = proc.stdout
    for binary in ("kube-apiserver", "kubectl", "etcd", "kwokctl", "metrics-server", "pulumi",
                   "pulumi-resource-kubernetes", "pulumi-language-yaml", "pulumi-language-nodejs",
                   "pulumi-language-go", "karpenter", "crane", "syft", "prometheus", "promtool"):
        assert binary in listed
