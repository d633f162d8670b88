"""The local stack through a real engine: bad config, up, idempotence, a config change, destroy.

The tests run in file order and share one throwaway backend (the `project` fixture): each step starts from the
state the previous one left, as a user's session would.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from gnp_pulumi import PulumiProject, existing, object_ref
from gpu_node_pools.parts import object_id

pytestmark = [pytest.mark.pulumi, pytest.mark.cluster]

EXTRA_TENANT = "gnp-extra-tenant"
CONFIG_LABEL = "nvidia.com/device-plugin.config"


def serves_configs(daemonset: dict[str, Any]) -> set[str]:
    """The device plugin configs a DaemonSet's node affinity selects by `In` (none: not a named config's)."""
    terms = (daemonset["spec"]["template"]["spec"].get("affinity", {}).get("nodeAffinity", {})
             .get("requiredDuringSchedulingIgnoredDuringExecution", {}).get("nodeSelectorTerms", []))
    return {v for t in terms for e in t.get("matchExpressions", [])
            if e["key"] == CONFIG_LABEL and e["operator"] == "In" for v in e["values"]}


def changed_steps(preview_json: str) -> list[dict[str, Any]]:
    """The steps of `pulumi preview --json` that change a resource (the stack's own outputs aside)."""
    def resource_type(urn: str) -> str:  # urn:pulumi:STACK::PROJECT::[PARENT$]TYPE::NAME
        return urn.split("::")[2].split("$")[-1]
    return [s for s in json.loads(preview_json)["steps"]
            if s["op"] != "same" and resource_type(s["urn"]) != "pulumi:pulumi:Stack"]


def test_bad_config_fails_before_any_resource(project: PulumiProject, local_config, local_cluster,
                                              local_objects) -> None:
    config = copy.deepcopy(local_config)
    config["gpu-node-pools:nodePools"][0]["scaling"] = {"min": 3, "max": 1, "desired": 2}
    project.write_stack("bad", config)
    project.run("stack", "init", "bad")

    up = project.run("up", "--stack", "bad", "--yes", "--skip-preview", check=False)

    assert up.returncode != 0
    assert "stacks/Pulumi.bad.yaml" in up.stdout and "nodePools" in up.stdout, up.stdout
    exported = json.loads(project.run("stack", "export", "--stack", "bad").stdout)
    assert [r["type"] for r in exported["deployment"].get("resources") or []
            if r["type"] != "pulumi:pulumi:Stack"] == []
    assert existing(local_cluster, local_objects) == []


def test_up_creates_every_object_and_workloads_are_ready(project: PulumiProject, local_cluster,
                                                         local_objects) -> None:
    assert existing(local_cluster, local_objects) == [], "the cluster already runs the layer: `make down` first"
    project.run("stack", "init", "local")

    project.run("up", "--stack", "local", "--yes", "--skip-preview")

    missing = {"/".join(object_ref(o)) for o in local_objects} - {
        "/".join(object_ref(o)) for o in local_objects
        if local_cluster.kubectl("get", *object_ref(o), check=False).returncode == 0}
    assert missing == set()
    # A shared elastic pool's own device plugin DaemonSet has no node until Karpenter launches one
    # (tests/integration/test_gpu_sharing_scheduler.py sees it run there).
    elastic_configs = {o["spec"]["template"]["metadata"]["labels"].get(CONFIG_LABEL)
                       for o in local_objects if o["kind"] == "NodePool"} - {None}
    for obj in local_objects:
        if obj["kind"] not in ("DaemonSet", "Deployment"):
            continue
        status = json.loads(local_cluster.kubectl("get", *object_ref(obj), "-o", "json").stdout)["status"]
        if obj["kind"] == "DaemonSet" and serves_configs(obj) and serves_configs(obj) <= elastic_configs:
            assert status["desiredNumberScheduled"] == 0, status
            continue
        if obj["kind"] == "DaemonSet":
            assert status["desiredNumberScheduled"] > 0, f"{obj['metadata']['name']} schedules on no node"
            assert status.get("numberReady") == status["desiredNumberScheduled"], status
        else:
            assert status.get("readyReplicas") == obj["spec"].get("replicas", 1), status


def test_preview_after_up_expects_no_changes(project: PulumiProject) -> None:
    project.run("preview", "--stack", "local", "--expect-no-changes")


def test_the_export_lists_what_render_prints_and_the_cluster_holds(project: PulumiProject, local_cluster,
                                                                   local_objects) -> None:
    """`inClusterObjects` (read from the one list of parts) names exactly the deployed objects."""
    exported = json.loads(project.run("stack", "output", "inClusterObjects", "--stack", "local", "--json").stdout)
    rendered = sorted(object_id(o) for o in local_objects)
    assert exported == rendered
    assert {o["kind"] for o in local_objects} >= {"NodePool", "DaemonSet", "PriorityClass", "Namespace"}
    assert existing(local_cluster, local_objects) == [object_id(o) for o in local_objects]


def test_adding_a_tenant_creates_only_its_objects(project: PulumiProject, local_config, local_cluster) -> None:
    config = copy.deepcopy(local_config)
    config["gpu-node-pools:tenants"] = [*config["gpu-node-pools:tenants"], {"name": EXTRA_TENANT}]
    project.write_stack("local", config)

    preview = project.run("preview", "--stack", "local", "--json")
    changed = changed_steps(preview.stdout)

    assert changed, "adding a tenant changed nothing"
    assert {s["op"] for s in changed} == {"create"}, [(s["op"], s["urn"]) for s in changed]
    assert all(EXTRA_TENANT in s["urn"] for s in changed), [s["urn"] for s in changed]

    project.run("up", "--stack", "local", "--yes", "--skip-preview")
    local_cluster.kubectl("get", "namespace", EXTRA_TENANT)
    project.run("preview", "--stack", "local", "--expect-no-changes")


def test_removing_the_tenant_deletes_only_its_objects(project: PulumiProject, local_config, local_cluster) -> None:
    project.write_stack("local", local_config)

    preview = project.run("preview", "--stack", "local", "--json")
    changed = changed_steps(preview.stdout)

    assert {s["op"] for s in changed} == {"delete"}, [(s["op"], s["urn"]) for s in changed]
    assert all(EXTRA_TENANT in s["urn"] for s in changed), [s["urn"] for s in changed]
    project.run("up", "--stack", "local", "--yes", "--skip-preview")
    assert local_cluster.kubectl("get", "namespace", EXTRA_TENANT, check=False).returncode != 0


def test_destroy_leaves_none_of_our_objects(project: PulumiProject, local_cluster, local_objects) -> None:
    project.run("destroy", "--stack", "local", "--yes")

    assert existing(local_cluster, local_objects) == []
    exported = json.loads(project.run("stack", "export", "--stack", "local").stdout)
    assert exported["deployment"].get("resources") in (None, [])
