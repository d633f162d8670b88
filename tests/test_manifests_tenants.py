"""Tenant namespaces: Pod Security labels, defaults so no pod runs unbounded, GPU quotas, default-deny networking."""

from __future__ import annotations

from typing import Any

import pytest
from builder_samples import TENANTS as CONFIGS
from gpu_node_pools.config.tenants import GPU_QUOTA_KEY, TenantNamespaceConfig
from gpu_node_pools.contract import IsolationContract
from gpu_node_pools.manifests.tenants import GPU_ACCESS_LABEL, build_tenant_namespace
from k8s_objects import assert_refused, of_kind


def build(config: dict[str, Any]) -> list[dict[str, Any]]:
    return build_tenant_namespace(TenantNamespaceConfig.model_validate(config), IsolationContract())


@pytest.mark.parametrize(
    ("name", "kinds"),
    [
        ("minimal", ["Namespace", "LimitRange", "ResourceQuota", "NetworkPolicy", "NetworkPolicy"]),
        ("gpu-team", ["Namespace", "LimitRange", "ResourceQuota", "NetworkPolicy", "NetworkPolicy"]),
        ("everything", ["Namespace", "LimitRange", "ResourceQuota"]),  # opted out of default-deny
    ],
)
def test_builds_the_objects_asked_for(name: str, kinds: list[str]) -> None:
    objects = build(CONFIGS[name])
    assert [o["kind"] for o in objects] == kinds
    namespace = CONFIGS[name]["name"]
    assert all(o["metadata"].get("namespace") == namespace for o in objects[1:])


def test_no_quota_at_all_with_gpu_access_and_no_caps() -> None:
    kinds = [o["kind"] for o in build({"name": "open", "gpuAccess": True})]
    assert kinds == ["Namespace", "LimitRange", "NetworkPolicy", "NetworkPolicy"]


@pytest.mark.parametrize(
    ("config", "level", "version"),
    [(CONFIGS["minimal"], "restricted", "latest"), (CONFIGS["everything"], "baseline", "v1.32")],
)
def test_pod_security_labels_enforce_audit_and_warn(config: dict[str, Any], level: str, version: str) -> None:
    labels = of_kind(build(config), "Namespace")[0]["metadata"]["labels"]
    for mode in ("enforce", "audit", "warn"):
        assert labels[f"pod-security.kubernetes.io/{mode}"] == level
        assert labels[f"pod-security.kubernetes.io/{mode}-version"] == version


@pytest.mark.parametrize("name", CONFIGS)
def test_limit_range_gives_every_container_cpu_and_memory_requests_and_limits(name: str) -> None:
    (limit_range,) = of_kind(build(CONFIGS[name]), "LimitRange")
    (container,) = limit_range["spec"]["limits"]
    assert container["type"] == "Container"
    assert set(container["defaultRequest"]) == set(container["default"]) == {"cpu", "memory"}


def test_limit_range_maxima_are_passed_through() -> None:
    (container,) = of_kind(build(CONFIGS["everything"]), "LimitRange")[0]["spec"]["limits"]
    assert container["max"] == {"cpu": "16", "memory": "64Gi"}
    assert container["defaultRequest"] == {"cpu": "250m", "memory": "256Mi"}


@pytest.mark.parametrize(
    ("config", "gpus", "access"),
    [
        ({"name": "web"}, "0", "false"),
        ({"name": "web", "quota": {"pods": 10}}, "0", "false"),
        ({"name": "ml", "gpuAccess": True, "quota": {"gpus": 4}}, "4", "true"),
        ({"name": "ml", "gpuAccess": True, "quota": {"pods": 10}}, None, "true"),
    ],
)
def test_gpu_quota_follows_gpu_access(config: dict[str, Any], gpus: str | None, access: str) -> None:
    objects = build(config)
    (quota,) = of_kind(objects, "ResourceQuota")
    assert quota["spec"]["hard"].get(GPU_QUOTA_KEY) == gpus
    assert of_kind(objects, "Namespace")[0]["metadata"]["labels"][GPU_ACCESS_LABEL] == access


def test_quota_maps_each_cap_to_its_resource_name() -> None:
    (quota,) = of_kind(build(CONFIGS["gpu-team"]), "ResourceQuota")
    assert quota["spec"]["hard"] == {
        "requests.cpu": "64",
        "requests.memory": "256Gi",
        "pods": "200",
        GPU_QUOTA_KEY: "8",
    }


@pytest.mark.parametrize(
    ("config", "denied"), [({"name": "web"}, True), ({"name": "web", "defaultDenyNetworkPolicy": False}, False)]
)
def test_default_deny_is_on_unless_the_tenant_opts_out(config: dict[str, Any], denied: bool) -> None:
    assert bool(of_kind(build(config), "NetworkPolicy")) is denied


def test_default_deny_blocks_everything_but_dns_to_kube_dns() -> None:
    deny, dns = of_kind(build(CONFIGS["minimal"]), "NetworkPolicy")
    assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    (rule,) = dns["spec"]["egress"]
    assert dns["spec"]["podSelector"] == {} and dns["spec"]["policyTypes"] == ["Egress"]
    assert sorted((p["protocol"], p["port"]) for p in rule["ports"]) == [("TCP", 53), ("UDP", 53)]
    assert rule["to"] == [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
        }
    ]
    assert "ingress" not in dns["spec"]


@pytest.mark.parametrize(
    ("config", "key", "message"),
    [
        ({"name": "ML_Team"}, "name", "DNS-1123 label"),
        ({"name": "kube-tenants"}, "name", "reserved for Kubernetes"),
        ({"name": "default"}, "name", "reserved for Kubernetes"),
        ({"name": "a", "podSecurity": "strict"}, "podSecurity", "Input should be"),
        ({"name": "a", "podSecurityVersion": "1.32"}, "podSecurityVersion", "not a Pod Security version"),
        (
            {"name": "a", "limitRange": {"defaultRequest": {"cpu": "2", "memory": "1Gi"}}},
            "limitRange",
            "defaultRequest.cpu 2 is above default.cpu 1",
        ),
        (
            {"name": "a", "limitRange": {"max": {"memory": "256Mi"}}},
            "limitRange",
            "default.memory 512Mi is above max.memory 256Mi",
        ),
        ({"name": "a", "limitRange": {"default": {"cpu": "1"}}}, "limitRange.default.memory", "Field required"),
        ({"name": "a", "quota": {"requestsCpu": "many"}}, "quota.requestsCpu", "not a Kubernetes quantity"),
        ({"name": "a", "quota": {"gpus": -1}}, "quota.gpus", "greater than or equal to 0"),
        ({"name": "a", "quota": {}}, "quota", "set at least one of"),
        ({"name": "a", "quota": {"gpus": 2}}, "", "set gpuAccess: true"),
        ({"name": "a", "gpuQuota": 2}, "gpuQuota", "Extra inputs"),
    ],
)
def test_bad_config_names_the_field(config: dict[str, Any], key: str, message: str) -> None:
    assert_refused(TenantNamespaceConfig, config, key, message)
