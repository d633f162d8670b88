"""Proof 6 (docs/local-cluster.md, Tests): the real API server accepts every object of the rendered local layer,
without warnings."""

from __future__ import annotations

import pytest
import yaml

from gnp_cluster import AppliedLayer, LocalCluster

pytestmark = pytest.mark.cluster


def test_every_rendered_object_is_accepted_without_warnings(local_layer: AppliedLayer) -> None:
    assert local_layer.objects, "gpu-node-pools render --stack local printed nothing"
    assert local_layer.warnings == []


def test_every_rendered_object_exists_on_the_server(local_cluster: LocalCluster, local_layer: AppliedLayer) -> None:
    listed = local_cluster.kubectl("get", "-f", "-", "-o", "name", input=yaml.safe_dump_all(local_layer.objects))
    assert len(listed.stdout.splitlines()) == len(local_layer.objects)


def test_reapplying_the_layer_changes_nothing(local_cluster: LocalCluster, local_layer: AppliedLayer) -> None:
    """Server-side apply is idempotent on these objects: no defaulting fights, no field-manager conflicts."""
    manifest = yaml.safe_dump_all(local_layer.objects)
    diff = local_cluster.kubectl("diff", "--server-side", "--field-manager=gnp-layer", "-f", "-",
                                 input=manifest, check=False)
    assert diff.returncode == 0, f"re-applying the layer would change:\n{diff.stdout}{diff.stderr}"
