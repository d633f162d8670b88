"""The image's run settings: what the DaemonSet relies on, and nothing secret baked in."""

from __future__ import annotations

import re

import pytest
from image_oci import BuiltImage

pytestmark = [pytest.mark.image, pytest.mark.network]  # apt downloads the packages from the Debian mirror

ARCHES = ["amd64", "arm64"]
# Names a secret would go by; none may be in the image's environment (a secret comes from the pod spec).
_SECRETISH = re.compile(r"SECRET|TOKEN|PASSWORD|PASSWD|CREDENTIAL|API_?KEY|ACCESS_?KEY|PRIVATE", re.I)


@pytest.mark.parametrize("arch", ARCHES)
def test_runs_the_agent_as_nonroot_on_its_port(image: BuiltImage, arch: str) -> None:
    config = image.config(arch)
    run = config["config"]
    assert (config["os"], config["architecture"]) == ("linux", arch)
    assert run["User"] == "65532:65532"
    assert run["Entrypoint"] == ["/usr/bin/python3.11", "-m", "gpu_node_agent.cli"]
    assert run["Cmd"] == ["run"]
    assert run["ExposedPorts"] == {"9402/tcp": {}}


@pytest.mark.parametrize("arch", ARCHES)
def test_environment_is_only_python_settings(image: BuiltImage, arch: str) -> None:
    env = dict(item.split("=", 1) for item in image.config(arch)["config"]["Env"])
    assert not [name for name in env if _SECRETISH.search(name)]
    assert env["PYTHONPATH"] == "/opt/gpu-node-agent"
    assert set(env) == {"PATH", "PYTHONPATH", "PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "SSL_CERT_FILE"}


def test_index_holds_both_platforms_by_their_digests(image: BuiltImage) -> None:
    entries = {e["platform"]["architecture"]: e["digest"] for e in image.index()["manifests"]}
    assert entries == {arch: image.arch_digest(arch) for arch in ARCHES}
