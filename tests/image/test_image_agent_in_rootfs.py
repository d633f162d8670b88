"""The agent's own tests, run inside the image's root filesystem as the DaemonSet runs it: uid 65532, root
read-only, only /tmp writable, the image's Python and libraries (tools/image/run-rootfs.sh)."""

from __future__ import annotations

import importlib.metadata
import pathlib
import re
import shutil
import subprocess

import pytest
from image_oci import BuiltImage

pytestmark = [pytest.mark.image, pytest.mark.network]  # apt downloads the packages from the Debian mirror

ROOT = pathlib.Path(__file__).resolve().parents[2]
RUN_ROOTFS = ROOT / "tools" / "image" / "run-rootfs.sh"


def _with_requirements(name: str, seen: set[str] | None = None) -> set[str]:
    """NAME and every distribution it requires in this environment (markers evaluated here)."""
    from packaging.requirements import Requirement

    seen = set() if seen is None else seen
    seen.add(name)
    for line in importlib.metadata.requires(name) or []:
        requirement = Requirement(line)
        if (requirement.marker is None or requirement.marker.evaluate({"extra": ""})) and requirement.name not in seen:
            _with_requirements(requirement.name, seen)
    return seen


def _payload(dest: pathlib.Path) -> pathlib.Path:
    site = dest / "site"
    # pytest and what it imports (pure Python), and grpcio for the tests' fake kubelet, a real gRPC server (the agent's
    # own client needs no grpcio, so the image has none): copied from this environment into the run's /tmp/site.
    for name in sorted(_with_requirements("pytest") | {"grpcio"}):
        dist = importlib.metadata.distribution(name)
        for file in dist.files or []:
            source = pathlib.Path(str(dist.locate_file(file)))
            if source.suffix == ".pyc" or not source.is_file() or ".." in file.parts:
                continue
            (site / file).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, site / file)
    shutil.copytree(ROOT / "node-agent" / "tests", dest / "tests", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "node-agent" / "examples", dest / "examples")
    return dest


def _run(rootfs: pathlib.Path, payload: pathlib.Path, *program: str) -> subprocess.CompletedProcess[str]:
    args = [str(RUN_ROOTFS), str(rootfs), "--copy-to-tmp", str(payload), "--", *program]
    return subprocess.run(args, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def rootfs(image: BuiltImage, tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    root = tmp_path_factory.mktemp("rootfs")
    image.extract("amd64", root)
    probe = _run(root, tmp_path_factory.mktemp("empty"), "/usr/bin/python3.11", "-c", "pass")
    if probe.returncode != 0 and re.search(r"unshare: .*(Operation not permitted|Permission denied)", probe.stderr):
        pytest.skip(f"this kernel refuses the mount namespace the run needs: {probe.stderr.strip()}")
    assert probe.returncode == 0, probe.stderr
    return root


def test_agent_tests_pass_as_nonroot_on_a_read_only_root(rootfs: pathlib.Path, tmp_path: pathlib.Path) -> None:
    done = _run(
        rootfs, _payload(tmp_path),
        "/usr/bin/python3.11", "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir=/tmp", "/tmp/tests",
    )
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr[-2000:]
    assert done.returncode == 0, f"{summary}\n{done.stdout[-6000:]}\n{done.stderr[-2000:]}"
    assert re.search(r"\d+ passed", summary) and "failed" not in summary


def test_runs_as_nonroot_and_cannot_write_its_root(rootfs: pathlib.Path, tmp_path: pathlib.Path) -> None:
    script = (
        "import os, ssl, ctypes.util\n"
        "import gpu_node_agent.cli, yaml, msgspec, lightkube, prometheus_client, pynvml\n"
        "assert (os.getuid(), os.getgid()) == (65532, 65532)\n"
        "open('/tmp/writable', 'w').close()\n"
        "try:\n    open('/usr/lib/x', 'w')\nexcept OSError as e:\n    print('root', e.strerror)\n"
        "print('shell', os.path.exists('/bin/sh') or os.path.exists('/usr/bin/sh'))\n"
    )
    done = _run(rootfs, tmp_path, "/usr/bin/python3.11", "-c", script)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["root Read-only file system", "shell False"]
