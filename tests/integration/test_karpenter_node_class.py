"""Karpenter's EKS objects on the real API server: the EC2NodeClass passes its CRD's schema and CEL rules, and the
controller's objects are accepted (server-side dry run: nothing is left behind, and no controller is started).

Only the EC2NodeClass CRD is installed (and removed afterwards): its group is the AWS provider's own, so it can't
clash with the karpenter.sh CRDs a local Karpenter may have installed on this cluster.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from gnp_cluster import LocalCluster, wait_for
from gpu_node_pools.config.stack_files import load_stack
from gpu_node_pools.parts import karpenter_objects
from gpu_node_pools.manifests.karpenter_crds import karpenter_crds

pytestmark = pytest.mark.cluster

CRD_NAME = "ec2nodeclasses.karpenter.k8s.aws"


@pytest.fixture(scope="module")
def node_class_crd(local_cluster: LocalCluster) -> Iterator[None]:
    (crd,) = [c for c in karpenter_crds() if c["metadata"]["name"] == CRD_NAME]
    local_cluster.apply([crd], field_manager="gnp-karpenter-test")
    wait_for(lambda: "True" in local_cluster.kubectl(
        "get", "crd", CRD_NAME, "-o", "jsonpath={.status.conditions[?(@.type=='Established')].status}").stdout,
        60, "EC2NodeClass CRD established")
    try:
        yield
    finally:
        local_cluster.kubectl("delete", "crd", CRD_NAME, "--wait=true", check=False)


def stack_objects(stack: str, kind: str | None = None) -> list[dict[str, Any]]:
    return [o for o in karpenter_objects(load_stack(stack))
            if o["kind"] != "CustomResourceDefinition" and (kind is None or o["kind"] == kind)]


def dry_run_create(cluster: LocalCluster, objects: list[dict[str, Any]]):
    return cluster.kubectl("create", "--dry-run=server", "--validate=strict", "-f", "-",
                           input=yaml.safe_dump_all(objects), check=False)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_stacks_node_class_is_accepted(local_cluster: LocalCluster, node_class_crd: None, stack: str) -> None:
    (node_class,) = stack_objects(stack, "EC2NodeClass")
    node_class["spec"]["instanceProfile"] = f"gpu-{stack}-karpenter-node"  # the deploy-time name
    created = dry_run_create(local_cluster, [node_class])
    assert created.returncode == 0, created.stderr
    assert "Warning" not in created.stderr


@pytest.mark.parametrize(("change", "message"), [
    (lambda spec: spec["tags"].update({"kubernetes.io/cluster/gpu-prod": "owned"}), "restricted tag"),
    (lambda spec: spec.update(role="gpu-prod-karpenter-node"), "instanceProfile"),
    (lambda spec: spec["metadataOptions"].update(httpPutResponseHopLimit=0), "httpPutResponseHopLimit"),
])
def test_the_crd_refuses_what_our_config_refuses(local_cluster: LocalCluster, node_class_crd: None,
                                                  change: Any, message: str) -> None:
    """The server's CEL and schema rules are live here, so the accepted cases above mean something."""
    (node_class,) = stack_objects("prod", "EC2NodeClass")
    node_class = copy.deepcopy(node_class)
    node_class["spec"]["instanceProfile"] = "gpu-prod-karpenter-node"
    change(node_class["spec"])
    created = dry_run_create(local_cluster, [node_class])
    assert created.returncode != 0 and message in created.stderr, created.stderr


def test_the_controllers_objects_are_accepted(local_cluster: LocalCluster) -> None:
    objects = stack_objects("prod")
    controller = [o for o in objects if o["kind"] != "EC2NodeClass"]
    applied = local_cluster.kubectl("apply", "--server-side", "--dry-run=server", "--field-manager=gnp-karpenter-test",
                                    "-f", "-", input=yaml.safe_dump_all(controller), check=False)
    assert applied.returncode == 0, applied.stderr
    assert [line for line in applied.stderr.splitlines() if line.startswith("Warning:")] == []
    assert len(applied.stdout.splitlines()) == len(controller)


def test_an_elastic_mig_pools_own_node_class_is_accepted(local_cluster: LocalCluster, node_class_crd: None) -> None:
    """The class carrying the MIG layout in `userData` passes the same schema and CEL rules as the shared one."""
    from gpu_node_pools.config.platform import parse_platform_config

    stack = parse_platform_config({
        "cluster": {"mode": "eks", "name": "gpu-prod", "subnetIds": ["subnet-0a1b2c3d4e5f60001",
                                                                     "subnet-0a1b2c3d4e5f60002"],
                    "publicAccessCidrs": ["203.0.113.0/24"]},
        "karpenter": {"enabled": True}, "nodeAgent": {"enabled": False},
        "nodePools": [{"name": "general", "kind": "general", "instanceTypes": ["m6i.large"],
                       "scaling": {"min": 2, "max": 3}},
                      {"name": "mig", "kind": "gpu", "sharing": {"mig": {"strategy": "single", "layout": "all-1g.10gb"}},
                       "elastic": {"instanceFamilies": ["p5"], "limits": {"gpus": 8}}}],
    }, "test")
    (node_class,) = [o for o in karpenter_objects(stack)
                     if o["kind"] == "EC2NodeClass" and o["metadata"]["name"] == "gpu-node-pools-mig"]
    assert node_class["spec"]["userData"].startswith("MIME-Version:")
    node_class["spec"]["instanceProfile"] = "gpu-prod-karpenter-node"
    created = dry_run_create(local_cluster, [node_class])
    assert created.returncode == 0, created.stderr
    assert "Warning" not in created.stderr
