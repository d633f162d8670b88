"""The vendored Karpenter CRDs (tools/karpenter/crds) are the pinned module's own: kwok/charts/crds and
kwok/apis/crds of sigs.k8s.io/karpenter at the version tools/karpenter/go.mod requires."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WRAPPER = ROOT / "tools" / "karpenter"
# The files the local cluster installs and the schema checks read: the kwok variant's (not pkg/apis/crds).
UPSTREAM = {
    "karpenter.sh_nodepools.yaml": "kwok/charts/crds",
    "karpenter.sh_nodeclaims.yaml": "kwok/charts/crds",
    "karpenter.sh_nodeoverlays.yaml": "kwok/charts/crds",
    "autoscaling.x-k8s.io_capacitybuffers.yaml": "kwok/charts/crds",
    "karpenter.kwok.sh_kwoknodeclasses.yaml": "kwok/apis/crds",
}


def module_dir() -> Path:
    go_version = next(line.split()[1] for line in (WRAPPER / "go.mod").read_text().splitlines() if line.startswith("go "))
    proc = subprocess.run(
        ["go", "mod", "download", "-json", "sigs.k8s.io/karpenter"], cwd=WRAPPER, capture_output=True, text=True,
        env={**os.environ, "GOTOOLCHAIN": f"go{go_version}"}, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return Path(json.loads(proc.stdout)["Dir"])


@pytest.mark.toolchain  # go, and the module the Karpenter build put in the module cache
def test_vendored_crds_are_the_pinned_modules() -> None:
    upstream = module_dir()
    vendored = {p.name for p in (WRAPPER / "crds").glob("*.yaml")}
    assert vendored == set(UPSTREAM)
    for name, folder in UPSTREAM.items():
        assert (WRAPPER / "crds" / name).read_bytes() == (upstream / folder / name).read_bytes(), name


def test_the_nodepool_crd_serves_karpenter_sh_v1() -> None:
    crd = yaml.safe_load((WRAPPER / "crds" / "karpenter.sh_nodepools.yaml").read_text())
    assert [v["name"] for v in crd["spec"]["versions"] if v["served"]] == ["v1"]
