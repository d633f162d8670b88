"""`make image-push`: the built index reaches the stack's nodeAgent.pushRepository with the digest that was built
(a crane registry on loopback stands in for ECR), and the script prints the `image` line for the stack file."""

from __future__ import annotations

import os
import pathlib
import re
import subprocess
import time

import pytest
import yaml
from image_oci import ROOT, BuiltImage

pytestmark = [pytest.mark.image, pytest.mark.network]  # apt downloads the packages from the Debian mirror


def _registry(tmp_path: pathlib.Path) -> tuple[subprocess.Popen[bytes], str]:
    crane = subprocess.run(
        ["bash", "-c", "source tools/lib.sh; load_sets; image_tool crane"], cwd=ROOT, capture_output=True,
        text=True, check=True,
    ).stdout.strip()
    log = tmp_path / "registry.log"
    server = subprocess.Popen([crane, "registry", "serve", "--address", "127.0.0.1:0"], stderr=log.open("wb"))
    for _ in range(100):
        if match := re.search(r"serving on port (\d+)", log.read_text()):
            return server, f"127.0.0.1:{match[1]}"
        time.sleep(0.05)
    server.kill()
    raise AssertionError(f"crane registry serve did not start: {log.read_text()}")


def test_push_sends_the_built_digest_and_prints_the_stack_line(image: BuiltImage, tmp_path: pathlib.Path) -> None:
    server, registry = _registry(tmp_path)
    try:
        repository = f"{registry}/team/gpu-node-agent"
        (tmp_path / "Pulumi.yaml").write_text("name: gpu-node-pools\nruntime: python\n")
        (tmp_path / "stacks").mkdir()
        config = {
            "gpu-node-pools:cluster": {"mode": "existing", "kubeconfig": "kubeconfig"},
            "gpu-node-pools:nodePools": [{"name": "gpu", "kind": "gpu", "instanceTypes": ["g5.2xlarge"],
                                          "scaling": {"min": 1, "max": 2, "desired": 1}}],
            "gpu-node-pools:nodeAgent": {"pushRepository": repository, "image": f"{repository}:0.1.0"},
        }
        (tmp_path / "stacks" / "Pulumi.reg.yaml").write_text(yaml.safe_dump({"config": config}))
        done = subprocess.run(
            [str(ROOT / "scripts" / "image-push.sh"), "reg"], cwd=ROOT, capture_output=True, text=True,
            env={**os.environ, "GNP_IMAGE_OUT": str(image.out), "GNP_PROJECT_DIR": str(tmp_path)},
        )
        assert done.returncode == 0, done.stderr
        assert f"    image: {repository}:0.1.0@{image.digest}" in done.stdout.splitlines()
    finally:
        server.kill()
        server.wait()
