"""Reading a built image from its OCI layout: the index, each platform's config, and its layers' files."""

from __future__ import annotations

import dataclasses
import json
import pathlib
import subprocess
import tarfile
from collections.abc import Iterator
from typing import Any

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


@dataclasses.dataclass(frozen=True)
class BuiltImage:
    """What tools/image/build.sh wrote into one output folder."""

    out: pathlib.Path

    @property
    def digest(self) -> str:
        return (self.out / "digest").read_text().strip()

    def arch_digest(self, arch: str) -> str:
        return (self.out / arch / "digest").read_text().strip()

    def _blob(self, digest: str) -> pathlib.Path:
        algorithm, hex_digest = digest.split(":", 1)
        return self.out / "oci" / "blobs" / algorithm / hex_digest

    def _json(self, digest: str) -> Any:
        return json.loads(self._blob(digest).read_text())

    def index(self) -> dict[str, Any]:
        layout_index = json.loads((self.out / "oci" / "index.json").read_text())
        (entry,) = layout_index["manifests"]
        assert entry["digest"] == self.digest, "the layout's index is not the one build/image/digest names"
        result: dict[str, Any] = self._json(entry["digest"])
        return result

    def manifest(self, arch: str) -> dict[str, Any]:
        for entry in self.index()["manifests"]:
            if entry["platform"] == {"architecture": arch, "os": "linux"}:
                result: dict[str, Any] = self._json(entry["digest"])
                return result
        raise KeyError(f"no linux/{arch} manifest in the index")

    def config(self, arch: str) -> dict[str, Any]:
        result: dict[str, Any] = self._json(self.manifest(arch)["config"]["digest"])
        return result

    def members(self, arch: str) -> Iterator[tarfile.TarInfo]:
        """Every entry of every layer, bottom layer first."""
        for layer in self.manifest(arch)["layers"]:
            with tarfile.open(self._blob(layer["digest"]), "r:gz") as tar:
                yield from tar.getmembers()

    def extract(self, arch: str, dest: pathlib.Path) -> None:
        """The platform's root filesystem, layers applied in order, owners and modes as the image has them."""
        for layer in self.manifest(arch)["layers"]:
            with tarfile.open(self._blob(layer["digest"]), "r:gz") as tar:
                tar.extractall(dest, filter="fully_trusted", numeric_owner=True)


def build_image(out: pathlib.Path, *arches: str, fresh: bool = False) -> BuiltImage:
    """tools/image/build.sh into `out`; `fresh` builds even when an image of the same inputs is kept."""
    args = [str(ROOT / "tools" / "image" / "build.sh"), "--out", str(out), *(["--fresh"] if fresh else [])]
    for arch in arches:
        args += ["--arch", arch]
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        pytest.fail(f"tools/image/build.sh failed ({done.returncode}):\n{done.stderr[-4000:]}")
    return BuiltImage(out)
