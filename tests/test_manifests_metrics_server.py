"""metrics-server objects: the full upstream set, HA when asked, never on GPU nodes. The bar every builder meets
(schema, resources, locked-down containers) is test_object_builders.py."""

from __future__ import annotations

from typing import Any

import pytest
from builder_samples import METRICS_SERVER as CONFIGS
from gpu_node_pools.config.fields import parse_quantity
from gpu_node_pools.config.metrics_server import (
    DEFAULT_METRICS_SERVER_IMAGE,
    MetricsServerConfig,
    metrics_server_image,
)
from gpu_node_pools.contract import GPU_PRESENT_LABEL, IsolationContract, Taint
from gpu_node_pools.manifests.metrics_server import (
    METRICS_SERVER_ARGS,
    METRICS_SERVER_TMP_SIZE_LIMIT,
    build_metrics_server,
)
from k8s_objects import assert_refused, one, pod_spec
from k8s_schema import OLDEST_SUPPORTED_VERSION

CONTRACTS = [
    IsolationContract(),
    IsolationContract(Taint("workload", "heavy", "NoSchedule")),
    IsolationContract(Taint("nvidia.com/gpu", "present", "NoExecute")),
]
BASE_OBJECTS = [
    ("ServiceAccount", "metrics-server"),
    ("ClusterRole", "system:aggregated-metrics-reader"),
    ("ClusterRole", "system:metrics-server"),
    ("RoleBinding", "metrics-server-auth-reader"),
    ("ClusterRoleBinding", "metrics-server:system:auth-delegator"),
    ("ClusterRoleBinding", "system:metrics-server"),
    ("Service", "metrics-server"),
    ("Deployment", "metrics-server"),
]


def build(config: dict[str, Any] | None = None, contract: IsolationContract | None = None, **kw: Any) -> list[dict]:
    return build_metrics_server(MetricsServerConfig.model_validate(config or {}), contract or IsolationContract(), **kw)


@pytest.mark.parametrize(
    ("config", "extra"),
    [
        ({}, [("APIService", "v1beta1.metrics.k8s.io")]),
        ({"ha": True}, [("PodDisruptionBudget", "metrics-server"), ("APIService", "v1beta1.metrics.k8s.io")]),
        ({"registerApiService": False}, []),
        ({"ha": True, "registerApiService": False}, [("PodDisruptionBudget", "metrics-server")]),
    ],
)
def test_builds_the_upstream_object_set(config: dict[str, Any], extra: list[tuple[str, str]]) -> None:
    assert [(o["kind"], o["metadata"]["name"]) for o in build(config)] == BASE_OBJECTS + extra


@pytest.mark.parametrize("contract", CONTRACTS, ids=str)
@pytest.mark.parametrize("ha", [False, True])
def test_cannot_land_on_gpu_nodes(contract: IsolationContract, ha: bool) -> None:
    spec = pod_spec(build({"ha": ha}, contract))
    assert not contract.tolerates_gpu_taint(spec.get("tolerations"))
    terms = spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert terms == [{"matchExpressions": [{"key": GPU_PRESENT_LABEL, "operator": "NotIn", "values": ["true"]}]}]


def test_deployment_matches_upstream() -> None:
    spec = pod_spec(build())
    (container,) = spec["containers"]
    assert container["args"] == list(METRICS_SERVER_ARGS)
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "https", "scheme": "HTTPS"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/livez", "port": "https", "scheme": "HTTPS"}
    assert container["resources"]["requests"] == {"cpu": "100m", "memory": "200Mi", "ephemeral-storage": "32Mi"}
    assert spec["priorityClassName"] == "system-cluster-critical"
    assert spec["serviceAccountName"] == "metrics-server"
    assert container["securityContext"]["runAsUser"] == 1000  # the upstream image's user
    assert {"name": "tmp-dir", "mountPath": "/tmp"} in container["volumeMounts"]


def test_local_storage_is_bounded() -> None:
    """/tmp holds only the serving certificate; logs and /tmp together stay under the container's limit."""
    spec = pod_spec(build())
    (container,) = spec["containers"]
    assert {"name": "tmp-dir", "emptyDir": {"sizeLimit": METRICS_SERVER_TMP_SIZE_LIMIT}} in spec["volumes"]
    request = parse_quantity(container["resources"]["requests"]["ephemeral-storage"])
    limit = parse_quantity(container["resources"]["limits"]["ephemeral-storage"])
    # The kubelet rotates a container's logs at 5 x 10 MiB by default; they count against this limit too.
    assert 0 < request <= limit and limit >= parse_quantity(METRICS_SERVER_TMP_SIZE_LIMIT) + 50 * 2**20


@pytest.mark.parametrize(
    ("resources", "expected"),
    [
        ({}, {"ephemeral-storage": "32Mi"}),  # the default
        ({"resources": {"cpu": "1", "memory": "1Gi", "cpuLimit": "1", "memoryLimit": "1Gi"}}, {}),
        (
            {"resources": {"cpu": "1", "memory": "1Gi", "cpuLimit": "1", "memoryLimit": "1Gi",
                           "ephemeralStorage": "1Gi", "ephemeralStorageLimit": "2Gi"}},
            {"ephemeral-storage": "1Gi"},
        ),
    ],
    ids=["default", "none", "custom"],
)
def test_ephemeral_storage_is_configurable(resources: dict[str, Any], expected: dict[str, str]) -> None:
    (container,) = pod_spec(build(resources))["containers"]
    requests = container["resources"]["requests"]
    assert {k: v for k, v in requests.items() if k == "ephemeral-storage"} == expected


def test_ha_runs_two_replicas_on_different_nodes_with_a_disruption_budget() -> None:
    objects = build({"ha": True})
    deployment = one(objects, "Deployment")
    selector = deployment["spec"]["selector"]["matchLabels"]
    (term,) = pod_spec(objects)["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    pdb = one(objects, "PodDisruptionBudget")
    assert deployment["spec"]["replicas"] == 2
    assert term["topologyKey"] == "kubernetes.io/hostname" and term["labelSelector"]["matchLabels"] == selector
    assert pdb["apiVersion"] == "policy/v1"
    assert pdb["spec"] == {"minAvailable": 1, "selector": {"matchLabels": selector}}


def test_service_and_api_service_reach_the_pods() -> None:
    objects = build()
    service = one(objects, "Service")
    labels = one(objects, "Deployment")["spec"]["template"]["metadata"]["labels"]
    api = one(objects, "APIService")["spec"]
    assert service["spec"]["ports"][0]["port"] == 443 and service["spec"]["ports"][0]["targetPort"] == "https"
    assert service["spec"]["selector"].items() <= labels.items()
    assert api["service"] == {"name": "metrics-server", "namespace": "kube-system"}
    assert (api["group"], api["version"]) == ("metrics.k8s.io", "v1beta1")


def test_aggregated_reader_feeds_the_default_user_roles() -> None:
    labels = one(build(), "ClusterRole", "system:aggregated-metrics-reader")["metadata"]["labels"]
    for role in ("view", "edit", "admin"):
        assert labels[f"rbac.authorization.k8s.io/aggregate-to-{role}"] == "true"


def test_extra_args_replace_same_named_upstream_flags_and_append_others() -> None:
    (container,) = pod_spec(build(CONFIGS["custom"]))["containers"]
    assert container["args"] == [
        "--cert-dir=/tmp",
        "--secure-port=10250",
        "--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname",
        "--kubelet-use-node-status-port",
        "--metric-resolution=30s",
        "--kubelet-insecure-tls",
    ]


@pytest.mark.parametrize(
    ("kubernetes_version", "tag"),
    [("1.31", "v0.8.1"), ("1.32", "v0.8.1"), ("v1.33.4", "v0.8.1"), ("1.34", "v0.9.0"), ("1.37", "v0.9.0")],
)
def test_image_follows_the_compatibility_matrix(kubernetes_version: str, tag: str) -> None:
    assert metrics_server_image(kubernetes_version).endswith(f"/metrics-server:{tag}")
    (container,) = pod_spec(build(kubernetes_version=kubernetes_version))["containers"]
    assert container["image"] == metrics_server_image(kubernetes_version)


def test_a_configured_image_wins_over_the_version_table() -> None:
    image = "registry.example.com/metrics-server:v0.8.0"
    (container,) = pod_spec(build({"image": image}, kubernetes_version="1.35"))["containers"]
    assert container["image"] == image


def test_an_image_digest_pins_the_configured_tag() -> None:
    config = {"image": "registry.k8s.io/metrics-server/metrics-server:v0.8.1", "imageDigest": "sha256:" + "f" * 64}
    (container,) = pod_spec(build(config, kubernetes_version="1.34"))["containers"]
    assert container["image"] == "registry.k8s.io/metrics-server/metrics-server:v0.8.1@sha256:" + "f" * 64


def test_without_a_cluster_version_the_default_runs_on_the_oldest_supported_kubernetes() -> None:
    (container,) = pod_spec(build())["containers"]
    assert container["image"] == DEFAULT_METRICS_SERVER_IMAGE == metrics_server_image(OLDEST_SUPPORTED_VERSION)


@pytest.mark.parametrize("kubernetes_version", ["1.30", "2.0", "latest"])
def test_unsupported_kubernetes_versions_are_refused(kubernetes_version: str) -> None:
    with pytest.raises(ValueError, match=kubernetes_version):
        metrics_server_image(kubernetes_version)


def test_disabled_builds_nothing() -> None:
    assert build({"enabled": False}) == []


@pytest.mark.parametrize(
    ("config", "key", "message"),
    [
        ({"image": "registry.k8s.io/metrics-server/metrics-server"}, "image", "must be pinned"),
        # The default image follows the cluster version; a digest alone could outlive the tag it belongs to.
        ({"imageDigest": "sha256:" + "f" * 64}, "imageDigest", "imageDigest needs image"),
        ({"image": "registry.k8s.io/metrics-server/metrics-server:v0.8.1", "imageDigest": "sha256:f"}, "imageDigest",
         "not an image digest"),
        (
            {"image": "registry.k8s.io/metrics-server/metrics-server@sha256:" + "a" * 64,
             "imageDigest": "sha256:" + "f" * 64},
            "imageDigest",
            "not both",
        ),
        (
            {"resources": {"cpu": "1", "memory": "1Gi", "cpuLimit": "1", "memoryLimit": "1Gi",
                           "ephemeralStorage": "2Gi", "ephemeralStorageLimit": "1Gi"}},
            "resources",
            "ephemeral-storage request 2Gi is above its limit 1Gi",
        ),
        ({"extraArgs": ["kubelet-insecure-tls"]}, "extraArgs", "is not a flag"),
        ({"ha": "sometimes"}, "ha", "valid boolean"),
        ({"registerApiservice": False}, "registerApiservice", "Extra inputs"),
    ],
)
def test_bad_config_names_the_field(config: dict[str, Any], key: str, message: str) -> None:
    assert_refused(MetricsServerConfig, config, key, message)


def test_the_mounted_token_is_explicit_and_a_named_exception() -> None:
    """It calls the API server and the kubelets; scanners flag a token mounted by default, so it is said outright."""
    import inspect

    from gpu_node_pools.manifests import metrics_server

    (deployment,) = [o for o in build() if o["kind"] == "Deployment"]
    assert deployment["spec"]["template"]["spec"]["automountServiceAccountToken"] is True
    assert "Named exception to mounting no token" in inspect.getsource(metrics_server)
