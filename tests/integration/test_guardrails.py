"""Proof 5 (docs/local-cluster.md, Tests): tenant namespace guardrails enforced by the real admission chain."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes.client.rest import ApiException
from kubernetes.utils import parse_quantity

from gnp_workloads import GPU, GPU_PRESENT, IMAGE, gpu_tolerations, pod, restricted_container
from gnp_cluster import AppliedLayer, LocalCluster, wait_for

pytestmark = pytest.mark.cluster

PSA_ENFORCE = "pod-security.kubernetes.io/enforce"


@pytest.fixture
def tenant(local_cluster: LocalCluster, local_layer: AppliedLayer) -> Iterator[str]:
    """A tenant namespace of the local stack; pods the test creates there are removed afterwards."""
    with_defaults = {o["metadata"]["namespace"] for o in local_layer.of_kind("LimitRange")}
    with_gpu_quota = {o["metadata"]["namespace"] for o in local_layer.of_kind("ResourceQuota")
                      if f"requests.{GPU}" in o["spec"].get("hard", {})}
    tenants = sorted(with_defaults & with_gpu_quota)
    assert tenants, "the local stack needs a tenant namespace with a LimitRange and a GPU ResourceQuota"
    name = tenants[0]
    yield name
    core = local_cluster.core()
    core.delete_collection_namespaced_pod(name, label_selector="gnp-test", grace_period_seconds=0)
    wait_for(lambda: not core.list_namespaced_pod(name, label_selector="gnp-test").items or None, 60,
             f"test pods in {name} gone")


def rendered(layer: AppliedLayer, kind: str, namespace: str) -> dict[str, Any]:
    [obj] = [o for o in layer.of_kind(kind) if o["metadata"]["namespace"] == namespace]
    return obj


def quantities(resources: dict[str, str]) -> dict[str, Any]:
    return {name: parse_quantity(value) for name, value in resources.items()}


def test_pod_without_resources_gets_the_limitrange_defaults(
    local_cluster: LocalCluster, local_layer: AppliedLayer, tenant: str
) -> None:
    [limits] = [item for item in rendered(local_layer, "LimitRange", tenant)["spec"]["limits"]
                if item["type"] == "Container"]
    body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "bare", "labels": {"gnp-test": "1"}},
            "spec": {"containers": [restricted_container()]}}
    created = local_cluster.core().create_namespaced_pod(tenant, body)
    resources = created.spec.containers[0].resources
    assert quantities(resources.requests) == quantities(limits["defaultRequest"])
    assert quantities(resources.limits) == quantities(limits["default"])


def test_privileged_pod_is_rejected_by_pod_security_admission(
    local_cluster: LocalCluster, local_layer: AppliedLayer, tenant: str
) -> None:
    namespace = next(o for o in local_layer.of_kind("Namespace") if o["metadata"]["name"] == tenant)
    assert namespace["metadata"]["labels"][PSA_ENFORCE] == "restricted"
    body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "root", "labels": {"gnp-test": "1"}},
            "spec": {"containers": [{"name": "main", "image": IMAGE, "securityContext": {"privileged": True}}]}}
    with pytest.raises(ApiException) as rejected:
        local_cluster.core().create_namespaced_pod(tenant, body)
    assert rejected.value.status == 403
    assert "violates PodSecurity" in rejected.value.body and "privileged" in rejected.value.body


def test_gpu_quota_is_enforced(local_cluster: LocalCluster, local_layer: AppliedLayer, tenant: str) -> None:
    quota = rendered(local_layer, "ResourceQuota", tenant)
    hard = int(quota["spec"]["hard"][f"requests.{GPU}"])
    core = local_cluster.core()
    # The quota controller must have counted usage before admission can enforce it.
    wait_for(lambda: (core.read_namespaced_resource_quota(quota["metadata"]["name"], tenant).status.used or None),
             60, f"ResourceQuota {quota['metadata']['name']} status")
    tolerations = gpu_tolerations(local_cluster.nodes(f"{GPU_PRESENT}=true"))
    requests = {GPU: "1", "cpu": "100m", "memory": "64Mi"}
    for i in range(hard):
        core.create_namespaced_pod(tenant, pod(f"gpu-{i}", {"gnp-test": "1"}, requests=requests,
                                               tolerations=tolerations))
    with pytest.raises(ApiException) as rejected:
        core.create_namespaced_pod(tenant, pod(f"gpu-{hard}", {"gnp-test": "1"}, requests=requests,
                                               tolerations=tolerations))
    assert rejected.value.status == 403
    assert "exceeded quota" in rejected.value.body and f"requests.{GPU}" in rejected.value.body
