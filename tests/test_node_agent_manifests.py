"""The node agent's objects: on GPU nodes only, least privilege, and an admission policy that
confines the agent to its own labels on its own node. (The policy's CEL is proven on a real API server in
tests/integration/; here its structure and wiring.) The bar every builder meets (schema, resources, locked-down
containers) is test_object_builders.py."""

from __future__ import annotations

from typing import Any

import pytest
from builder_samples import NODE_AGENT as CONFIGS
from builder_samples import NODE_AGENT_IMAGE
from gpu_node_pools.config.component_args import NodeAgentArgs
from gpu_node_pools.config.node_agent import DEFAULT_NODE_AGENT_PREFIX, NodeAgentConfig
from gpu_node_pools.contract import GPU_PRESENT_LABEL, IsolationContract, Taint
from gpu_node_pools.manifests.node_agent import (
    GFD_LABEL_KEYS,
    NODE_NAME_CLAIM,
    build_node_agent,
    node_agent_service_account,
)
from k8s_objects import assert_refused, one, pod_spec
from pydantic import ValidationError

CONTRACTS = [
    IsolationContract(),
    IsolationContract(Taint("nvidia.com/gpu", "present", "NoSchedule")),
    IsolationContract(Taint("example.com/accelerator", "", "NoExecute")),
]


def build(config: dict[str, Any] | None = None, contract: IsolationContract | None = None) -> list[dict[str, Any]]:
    """The agent's objects; `NODE_AGENT_IMAGE` unless the config names an image."""
    config = {"image": NODE_AGENT_IMAGE, **(config or {})}
    return build_node_agent(NodeAgentConfig.model_validate(config), contract or IsolationContract())


def env(objects: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in pod_spec(objects)["containers"][0]["env"]}


def test_disabled_builds_nothing() -> None:
    assert build({"enabled": False}) == []


def test_every_namespaced_object_is_in_the_agents_namespace() -> None:
    objects = build(CONFIGS["custom"])
    namespaced = [o for o in objects if "namespace" in o["metadata"]]
    assert {o["kind"] for o in namespaced} == {
        "ServiceAccount",
        "Role",
        "RoleBinding",
        "NetworkPolicy",
        "DaemonSet",
        "Service",
    }
    assert {o["metadata"]["namespace"] for o in namespaced} == {"monitoring-gpu"}
    assert one(objects, "Namespace")["metadata"]["name"] == "monitoring-gpu"


@pytest.mark.parametrize("contract", CONTRACTS, ids=str)
def test_runs_on_every_gpu_node_and_nowhere_else(contract: IsolationContract) -> None:
    spec = pod_spec(build(contract=contract))
    assert contract.tolerates_gpu_taint(spec["tolerations"])
    terms = spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert terms == [{"matchExpressions": [{"key": GPU_PRESENT_LABEL, "operator": "In", "values": ["true"]}]}]


def test_pod_is_cluster_critical_non_root_bounded_and_off_the_hosts_namespaces() -> None:
    """Root is the agent's named exception in test_object_builders.py only with podResources on; by default not."""
    spec = pod_spec(build())
    (container,) = spec["containers"]
    # An observer: below system-node-critical (the node's own daemons win), above every user class.
    assert spec["priorityClassName"] == "system-cluster-critical"
    assert spec["securityContext"]["runAsNonRoot"] and spec["securityContext"]["runAsUser"] == 65532
    for bound in ("requests", "limits"):
        assert set(container["resources"][bound]) == {"cpu", "memory", "ephemeral-storage"}
    assert "hostPID" not in spec and "hostNetwork" not in spec and not any("hostPath" in v for v in spec["volumes"])


def test_readiness_asks_for_metrics_and_liveness_for_a_live_loop() -> None:
    (container,) = pod_spec(build())["containers"]
    ready, live = container["readinessProbe"], container["livenessProbe"]
    assert ready["httpGet"] == {"path": "/metrics", "port": "metrics"}
    assert live["httpGet"] == {"path": "/healthz", "port": "metrics"}


def test_the_agent_reaches_only_dns_and_the_api_server() -> None:
    objects = build()
    policy = one(objects, "NetworkPolicy", "gpu-node-agent-egress")
    spec = policy["spec"]
    assert spec["podSelector"]["matchLabels"].items() <= one(objects, "DaemonSet")["spec"]["template"]["metadata"][
        "labels"].items()
    assert spec["policyTypes"] == ["Egress"]
    dns, api = spec["egress"]
    assert dns["to"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                          "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}]
    assert sorted((p["protocol"], p["port"]) for p in dns["ports"]) == [("TCP", 53), ("UDP", 53)]
    assert "to" not in api and [(p["protocol"], p["port"]) for p in api["ports"]] == [("TCP", 443), ("TCP", 6443)]


def test_by_default_the_namespace_enforces_restricted_and_nothing_reads_the_kubelet() -> None:
    objects = build()
    labels = one(objects, "Namespace")["metadata"]["labels"]
    assert {k: v for k, v in labels.items() if k.startswith("pod-security")} == {
        "pod-security.kubernetes.io/enforce": "restricted"
    }
    assert "GPU_NODE_AGENT_POD_RESOURCES" not in env(objects)
    assert [v["name"] for v in pod_spec(objects)["volumes"]] == ["kube-api-access"]


def test_pod_resources_adds_exactly_its_named_exceptions() -> None:
    """Root (the kubelet's socket is owner-writable only) and one read-only hostPath; everything else stays
    locked down, and the namespace warns and audits at restricted while enforcing what the hostPath needs."""
    default, objects = build(), build({"podResources": True})
    labels = one(objects, "Namespace")["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "privileged"  # baseline forbids hostPath too
    assert labels["pod-security.kubernetes.io/warn"] == "restricted"
    assert labels["pod-security.kubernetes.io/audit"] == "restricted"
    spec = pod_spec(objects)
    (container,) = spec["containers"]
    assert spec["securityContext"] == {"seccompProfile": {"type": "RuntimeDefault"}, "runAsUser": 0, "runAsGroup": 0}
    context = container["securityContext"]
    assert "runAsNonRoot" not in context
    assert context["readOnlyRootFilesystem"] and not context["allowPrivilegeEscalation"]
    assert context["capabilities"] == {"drop": ["ALL"]} and context["seccompProfile"] == {"type": "RuntimeDefault"}
    assert spec["volumes"][1:] == [
        {"name": "pod-resources", "hostPath": {"path": "/var/lib/kubelet/pod-resources", "type": "Directory"}}
    ]
    assert container["volumeMounts"][1:] == [
        {"name": "pod-resources", "mountPath": "/var/lib/kubelet/pod-resources", "readOnly": True}
    ]
    assert env(objects)["GPU_NODE_AGENT_POD_RESOURCES"] == "true"
    assert "hostPID" not in spec and "hostNetwork" not in spec
    # Nothing else differs from the default objects.
    rest = [o for o in objects if o["kind"] not in ("Namespace", "DaemonSet")]
    assert rest == [o for o in default if o["kind"] not in ("Namespace", "DaemonSet")]


def toolkit_device_requests(spec: dict[str, Any]) -> list[str]:
    """The devices the NVIDIA container toolkit reads from a container's mounts, by its own rule
    (NVIDIA/nvidia-container-toolkit v1.18.0, internal/config/image/cuda_image.go `requestsFromMounts`): a bind
    mount whose source is exactly /dev/null under /var/run/nvidia-container-devices names the device in the rest
    of its path. The kubelet turns a hostPath volume into a bind mount of `hostPath.path` at `mountPath`."""
    (container,) = spec["containers"]
    sources = {v["name"]: v["hostPath"]["path"] for v in spec["volumes"] if "hostPath" in v}
    root = "/var/run/nvidia-container-devices"
    return [m["mountPath"].removeprefix(root).strip("/") for m in container["volumeMounts"]
            if sources.get(m["name"]) == "/dev/null" and m["mountPath"].startswith(root + "/")]


@pytest.mark.parametrize(("devices", "requested"), [("all", ["all"]), ("0,1", ["0", "1"])])
def test_volume_mounts_ask_the_runtime_through_dev_null_mounts_not_a_gpu_request(devices: str,
                                                                                 requested: list[str]) -> None:
    """Bottlerocket's runtime (EKS Auto Mode) ignores NVIDIA_VISIBLE_DEVICES in unprivileged containers but reads
    device requests from /dev/null mounts: the agent asks that way, still unprivileged and non-root, requesting no
    nvidia.com/gpu; the one new exception is a read-only hostPath, and the namespace names it."""
    default = build({"nvidiaVisibleDevices": devices})
    objects = build_node_agent(NodeAgentConfig.model_validate({"image": NODE_AGENT_IMAGE,
                                                               "nvidiaVisibleDevices": devices}),
                               IsolationContract(), device_list_strategy="volume-mounts")
    spec = pod_spec(objects)
    (container,) = spec["containers"]
    assert toolkit_device_requests(spec) == requested
    assert toolkit_device_requests(pod_spec(default)) == []
    assert all(m["readOnly"] for m in container["volumeMounts"])
    assert {v["hostPath"]["type"] for v in spec["volumes"] if "hostPath" in v} == {"CharDevice"}
    variables = env(objects)
    assert "NVIDIA_VISIBLE_DEVICES" not in variables and variables["NVIDIA_DRIVER_CAPABILITIES"] == "utility"
    assert env(default)["NVIDIA_VISIBLE_DEVICES"] == devices
    # Allocates nothing and gains nothing: the same user, context and resources as the default pod.
    assert "nvidia.com/gpu" not in str(container["resources"])
    (plain,) = pod_spec(default)["containers"]
    assert container["securityContext"] == plain["securityContext"] and not container["securityContext"].get(
        "privileged")
    assert spec["securityContext"] == pod_spec(default)["securityContext"]
    assert spec["securityContext"]["runAsNonRoot"] and container["resources"] == plain["resources"]
    labels = one(objects, "Namespace")["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "privileged"  # baseline forbids hostPath too
    assert labels["pod-security.kubernetes.io/warn"] == labels["pod-security.kubernetes.io/audit"] == "restricted"
    rest = [o for o in objects if o["kind"] not in ("Namespace", "DaemonSet")]
    assert rest == [o for o in default if o["kind"] not in ("Namespace", "DaemonSet")]


@pytest.mark.parametrize("devices", ["none", "void", "0:1", "../all", "all,"])
def test_a_device_that_is_no_mount_path_is_refused_only_under_volume_mounts(devices: str) -> None:
    args = {"image": NODE_AGENT_IMAGE, "nvidiaVisibleDevices": devices}
    assert_refused(NodeAgentArgs, {**args, "deviceListStrategy": "volume-mounts"}, "nvidiaVisibleDevices",
                   "the agent asks for GPUs by mount")
    assert NodeAgentArgs.model_validate(args).nvidia_visible_devices == devices


def test_node_name_comes_from_the_downward_api_and_settings_from_config() -> None:
    variables = env(build(CONFIGS["custom"]))
    assert variables["NODE_NAME"] == {"fieldRef": {"apiVersion": "v1", "fieldPath": "spec.nodeName"}}
    assert variables["POD_NAMESPACE"] == {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}
    assert (
        variables["GPU_NODE_AGENT_PREFIX"],
        variables["GPU_NODE_AGENT_PORT"],
        variables["GPU_NODE_AGENT_INTERVAL"],
    ) == ("gpu.example.com/", "19402", "30")
    assert (variables["GPU_NODE_AGENT_SETTLE_SECONDS"], variables["GPU_NODE_AGENT_MIN_WRITE_INTERVAL"]) == ("45", "60")
    assert (variables["NVIDIA_VISIBLE_DEVICES"], variables["NVIDIA_DRIVER_CAPABILITIES"]) == ("0,1", "utility")


@pytest.mark.parametrize(
    ("config", "expected"),
    [({}, None), ({"runtimeClassName": "nvidia"}, "nvidia"), ({"runtimeClassName": "nvidia-cdi"}, "nvidia-cdi")],
)
def test_runtime_class_is_configurable_and_off_by_default(config: dict[str, Any], expected: str | None) -> None:
    # Off by default: EKS' NVIDIA AMIs run the NVIDIA runtime as the default and define no RuntimeClass.
    assert pod_spec(build(config)).get("runtimeClassName") == expected


def test_token_is_projected_pod_bound_and_expiring() -> None:
    objects = build()
    spec = pod_spec(objects)
    assert spec["automountServiceAccountToken"] is False and spec["serviceAccountName"] == "gpu-node-agent"
    assert one(objects, "ServiceAccount")["automountServiceAccountToken"] is False
    (volume,) = spec["volumes"]
    token = volume["projected"]["sources"][0]["serviceAccountToken"]
    assert token["path"] == "token" and 600 <= token["expirationSeconds"] <= 86400
    (mount,) = spec["containers"][0]["volumeMounts"]
    assert mount == {
        "name": volume["name"],
        "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
        "readOnly": True,
    }


@pytest.mark.parametrize(
    ("kind", "name", "rules"),
    [
        (
            "ClusterRole",
            "gpu-node-agent",
            [
                {"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "patch"]},
                {"apiGroups": [""], "resources": ["nodes/status"], "verbs": ["patch"]},
            ],
        ),
        (
            "Role",
            "gpu-node-agent",
            [{"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["get", "create", "patch"]}],
        ),
        (
            "ClusterRole",
            "gpu-node-agent-reader",
            [
                {"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list", "watch"]},
                {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["get", "list", "watch"]},
            ],
        ),
    ],
)
def test_rbac_is_exactly_what_each_user_needs(kind: str, name: str, rules: list[dict[str, Any]]) -> None:
    assert one(build(), kind, name)["rules"] == rules


def test_bindings_give_the_agent_its_roles_and_the_reader_role_to_no_one() -> None:
    objects = build(CONFIGS["custom"])
    subject = [{"kind": "ServiceAccount", "name": "gpu-node-agent", "namespace": "monitoring-gpu"}]
    for kind, role_kind in (("ClusterRoleBinding", "ClusterRole"), ("RoleBinding", "Role")):
        binding = one(objects, kind)
        assert binding["subjects"] == subject and binding["roleRef"]["kind"] == role_kind
        assert one(objects, role_kind, binding["roleRef"]["name"])
    assert not any(
        o["kind"].endswith("Binding") and o.get("roleRef", {}).get("name") == "gpu-node-agent-reader" for o in objects
    )


def test_metrics_service_selects_the_agent_pods_port() -> None:
    objects = build(CONFIGS["custom"])
    service, daemonset = one(objects, "Service"), one(objects, "DaemonSet")
    assert service["spec"]["selector"].items() <= daemonset["spec"]["template"]["metadata"]["labels"].items()
    (port,) = service["spec"]["ports"]
    assert port["port"] == 19402 and port["targetPort"] == "metrics"
    assert daemonset["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] == 19402


@pytest.mark.parametrize(
    "image",
    [
        "registry.example.com/gpu-node-agent:0.1.0",
        "registry.example.com/gpu-node-agent@sha256:" + "b" * 64,
        "localhost:5000/gpu-node-agent:0.1.0@sha256:" + "c" * 64,
        "111122223333.dkr.ecr.us-west-2.amazonaws.com/gpu-node-agent:v0.1.0",
    ],
    ids=["tag", "digest", "tag-and-digest", "ecr"],
)
def test_the_daemonset_runs_the_named_image(image: str) -> None:
    assert pod_spec(build({"image": image}))["containers"][0]["image"] == image


def test_no_image_no_default() -> None:
    """Nothing publishes an agent image, so none is made up: the builder refuses, naming the key."""
    assert NodeAgentConfig().image is None
    with pytest.raises(ValueError, match=r"nodeAgent.image: required .*`make image`"):
        build_node_agent(NodeAgentConfig(), IsolationContract())
    assert build_node_agent(NodeAgentConfig(enabled=False), IsolationContract()) == []


@pytest.mark.parametrize(
    ("scrapers", "namespaces"),
    [(None, ["monitoring"]), (["monitoring", "prometheus"], ["monitoring", "prometheus"]), ([], None)],
    ids=["default", "two-namespaces", "none"],
)
def test_only_the_scraping_namespaces_reach_the_metrics_port(
    scrapers: list[str] | None, namespaces: list[str] | None
) -> None:
    config: dict[str, Any] = {"port": 19402} if scrapers is None else {"port": 19402, "metricsScrapers": scrapers}
    objects = build(config)
    policy = one(objects, "NetworkPolicy", "gpu-node-agent-metrics")
    spec = policy["spec"]
    # It selects the agent's pods, and limits only what comes in (the agent must reach the API server).
    assert spec["podSelector"]["matchLabels"].items() <= one(objects, "DaemonSet")["spec"]["template"]["metadata"][
        "labels"
    ].items()
    assert spec["policyTypes"] == ["Ingress"]
    if namespaces is None:
        assert spec["ingress"] == []
        return
    (rule,) = spec["ingress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": 19402}]
    assert rule["from"] == [
        {
            "namespaceSelector": {
                "matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "In", "values": namespaces}]
            }
        }
    ]
    # The policy can only hold if the agent is on the pod network.
    assert "hostNetwork" not in pod_spec(objects)


def policy_text(policy: dict[str, Any]) -> str:
    return "\n".join(v["expression"] for v in policy["spec"]["validations"])


@pytest.mark.parametrize("config", [CONFIGS["default"], CONFIGS["custom"]], ids=["default", "custom"])
def test_policies_match_only_the_agents_service_account(config: dict[str, Any]) -> None:
    objects = build(config)
    user = node_agent_service_account(NodeAgentConfig.model_validate(config))
    for name in ("gpu-node-agent-node-labels", "gpu-node-agent-node-condition", "gpu-node-agent-leases"):
        policy = one(objects, "ValidatingAdmissionPolicy", name)
        assert policy["spec"]["failurePolicy"] == "Fail"
        assert policy["spec"]["matchConditions"] == [
            {"name": "is-gpu-node-agent", "expression": f"request.userInfo.username == '{user}'"}
        ]
        binding = one(objects, "ValidatingAdmissionPolicyBinding", name)
        assert binding["spec"] == {"policyName": name, "validationActions": ["Deny"]}


def test_node_policy_confines_the_agent_to_its_prefix_on_its_own_node() -> None:
    policy = one(build(CONFIGS["custom"]), "ValidatingAdmissionPolicy", "gpu-node-agent-node-labels")
    (rule,) = policy["spec"]["matchConstraints"]["resourceRules"]
    assert rule["resources"] == ["nodes"] and set(rule["operations"]) == {"CREATE", "UPDATE", "DELETE"}
    text = policy_text(policy)
    assert f"object.metadata.name == request.userInfo.extra['{NODE_NAME_CLAIM}'][0]" in text
    assert text.count("k.startsWith('gpu.example.com/')") == 2  # no foreign label changed, none removed
    for path in ("metadata.annotations", "metadata.finalizers", "metadata.ownerReferences", "spec", "status"):
        assert f"object.{path} == oldObject.{path}" in text
    assert "nvidia.com/gpu.product" not in text and DEFAULT_NODE_AGENT_PREFIX not in text


def test_gfd_mode_lets_the_policy_allow_exactly_gfds_three_keys() -> None:
    text = policy_text(one(build({"gfdLabels": True}), "ValidatingAdmissionPolicy", "gpu-node-agent-node-labels"))
    keys = ", ".join(f"'{k}'" for k in GFD_LABEL_KEYS)
    assert text.count(f"k in [{keys}]") == 2 and "nvidia.com/gpu.present" not in text


def test_lease_policy_pins_the_lease_to_the_node_in_the_token() -> None:
    text = policy_text(one(build(CONFIGS["custom"]), "ValidatingAdmissionPolicy", "gpu-node-agent-leases"))
    assert "request.namespace == 'monitoring-gpu'" in text
    assert f"object.metadata.name == request.userInfo.extra['{NODE_NAME_CLAIM}'][0]" in text


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"prefix": "gpu-node-pools.io/"}, "holds labels the agent must not own"),
        ({"prefix": "nvidia.com/"}, "holds labels the agent must not own"),
        ({"prefix": "node.kubernetes.io/"}, "reserved for Kubernetes"),
        ({"prefix": "Gpu.Example.com/"}, "lowercase DNS subdomain"),
        ({"prefix": "gpu.example.com"}, "followed by '/'"),
        ({"prefix": "gpu.example.com/'"}, "lowercase DNS subdomain"),  # nothing can break out of the CEL strings
        ({"port": 80}, "greater than or equal to 1024"),
        ({"image": "gpu-node-agent:latest"}, "must be pinned"),
        ({"image": "gpu-node-agent"}, "must be pinned"),
        ({"image": "gpu-node-agent@sha256:abc"}, "not an image reference"),
        ({"image": "Registry/GPU-node-agent:1"}, "not an image reference"),
        ({"image": "gpu-node-agent:1.0 "}, "not an image reference"),
        ({"metricsScrapers": ["Monitoring"]}, "DNS-1123 label"),
        ({"intervalSeconds": 0}, "greater than or equal to 1"),
        ({"resources": {"cpu": "1", "memory": "64Mi", "cpuLimit": "100m", "memoryLimit": "64Mi"}}, "above its limit"),
        ({"namespce": "x"}, "Extra inputs are not permitted"),
        ({"podResources": "maybe"}, "valid boolean"),
    ],
)
def test_bad_config_is_rejected_naming_the_key(config: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message) as error:
        NodeAgentConfig.model_validate(config)
    assert next(iter(config)) in str(error.value)


# The node policy's CEL, evaluated with a generic CEL engine (cel-python) on admission-request shaped data. Not a
# substitute for the real API server (tests/integration/), but it catches logic slips in seconds. Runs when
# `cel-python` is installed (the root test extra).
_AGENT = "system:serviceaccount:gpu-node-agent:gpu-node-agent"
_P = DEFAULT_NODE_AGENT_PREFIX
_OLD_NODE: dict[str, Any] = {
    "metadata": {
        "name": "n1",
        "labels": {"gpu-node-pools.io/pool": "a", f"{_P}gpu.health": "ok", f"{_P}gpu.count": "8"},
        "annotations": {"x": "y"},
    },
    "spec": {"taints": [{"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}]},
    "status": {"capacity": {"cpu": "8"}},
}


def _request(node_claim: tuple[str, ...] | None = ("n1",)) -> dict[str, Any]:
    user: dict[str, Any] = {"username": _AGENT}
    if node_claim is not None:
        user["extra"] = {NODE_NAME_CLAIM: list(node_claim)}
    return {"operation": "UPDATE", "userInfo": user}


def _changed(change: Any) -> dict[str, Any]:
    import copy

    node = copy.deepcopy(_OLD_NODE)
    change(node)
    return node


@pytest.mark.parametrize(
    ("config", "request_", "change", "allowed"),
    [
        ({}, _request(), lambda n: n["metadata"]["labels"].update({f"{_P}gpu.health": "degraded"}), True),
        ({}, _request(), lambda n: n["metadata"]["labels"].pop(f"{_P}gpu.count"), True),
        ({}, _request(), lambda n: None, True),
        ({}, _request(("n2",)), lambda n: None, False),  # another node
        ({}, _request(None), lambda n: None, False),  # a token without the node-name claim
        ({}, _request(), lambda n: n["metadata"]["labels"].update({"gpu-node-pools.io/pool": "b"}), False),
        ({}, _request(), lambda n: n["metadata"]["labels"].update({"evil": "1"}), False),
        ({}, _request(), lambda n: n["metadata"]["labels"].pop("gpu-node-pools.io/pool"), False),
        ({}, _request(), lambda n: n["metadata"]["annotations"].update({"x": "z"}), False),
        ({}, _request(), lambda n: n["metadata"].pop("annotations"), False),
        ({}, _request(), lambda n: n["spec"].update({"taints": []}), False),
        ({}, _request(), lambda n: n["metadata"]["labels"].update({"nvidia.com/gpu.product": "x"}), False),
        (
            {"gfdLabels": True},
            _request(),
            lambda n: n["metadata"]["labels"].update({"nvidia.com/gpu.product": "x"}),
            True,
        ),
        (
            {"gfdLabels": True},
            _request(),
            lambda n: n["metadata"]["labels"].update({"nvidia.com/gpu.present": "x"}),
            False,
        ),
    ],
    ids=[
        "own-label-changed",
        "own-label-removed",
        "no-change",
        "other-node",
        "no-node-claim",
        "foreign-label-changed",
        "foreign-label-added",
        "foreign-label-removed",
        "annotation-changed",
        "annotations-removed",
        "taint-removed",
        "gfd-key-outside-gfd-mode",
        "gfd-key-in-gfd-mode",
        "other-nvidia-key-in-gfd-mode",
    ],
)
def test_node_policy_cel_allows_only_own_labels(
    config: dict[str, Any], request_: dict[str, Any], change: Any, allowed: bool
) -> None:
    celpy = pytest.importorskip("celpy")
    policy = one(build(config), "ValidatingAdmissionPolicy", "gpu-node-agent-node-labels")
    activation = {
        "request": celpy.json_to_cel(request_),
        "object": celpy.json_to_cel(_changed(change)),
        "oldObject": celpy.json_to_cel(_OLD_NODE),
    }
    environment = celpy.Environment()
    verdicts = [
        environment.program(environment.compile(v["expression"])).evaluate(activation)
        for v in policy["spec"]["validations"]
    ]
    # An evaluation error comes back as a value, not an exception: only a real boolean true passes.
    passed = [isinstance(v, (bool, celpy.celtypes.BoolType)) and bool(v) for v in verdicts]
    assert all(passed) is allowed, verdicts


def test_node_repair_sets_the_agents_condition_and_off_takes_away_its_status_rights() -> None:
    on = build({"nodeRepair": {"conditionType": "KWOKUnhealthy", "unhealthyStatus": "True"}})
    assert env(on)["GPU_NODE_AGENT_REPAIR_CONDITION"] == "KWOKUnhealthy=True"
    assert env(build())["GPU_NODE_AGENT_REPAIR_CONDITION"] == "AcceleratedHardwareReady=False"
    off = build({"nodeRepair": {"enabled": False}})
    assert "GPU_NODE_AGENT_REPAIR_CONDITION" not in env(off)
    assert one(off, "ClusterRole", "gpu-node-agent")["rules"] == [
        {"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "patch"]}
    ]
    # The status policy stays, denying every status change: a second fence if RBAC is widened by hand.
    policy = one(off, "ValidatingAdmissionPolicy", "gpu-node-agent-node-condition")
    assert policy["spec"]["matchConstraints"]["resourceRules"][0]["resources"] == ["nodes/status"]


@pytest.mark.parametrize(
    ("node_repair", "message"),
    [
        ({"conditionType": "Ready"}, "belongs to the kubelet"),
        ({"conditionType": "gpu-ok"}, "letters and digits"),
        ({"unhealthyStatus": "false"}, "unhealthyStatus"),
    ],
)
def test_a_bad_repair_condition_is_rejected_naming_the_key(node_repair: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        NodeAgentConfig.model_validate({"image": NODE_AGENT_IMAGE, "nodeRepair": node_repair})


_OLD_STATUS: dict[str, Any] = {
    "metadata": {"name": "n1", "labels": {"a": "b"}},
    "spec": {},
    "status": {
        "capacity": {"cpu": "8"},
        "conditions": [
            {"type": "Ready", "status": "True", "reason": "KubeletReady"},
            {"type": "KWOKUnhealthy", "status": "False", "reason": "GpuHealthy"},
        ],
    },
}


def _status_changed(change: Any) -> dict[str, Any]:
    import copy

    node = copy.deepcopy(_OLD_STATUS)
    change(node)
    return node


def _set_condition(kind: str, status: str) -> Any:
    def change(node: dict[str, Any]) -> None:
        conditions = [c for c in node["status"]["conditions"] if c["type"] != kind]
        node["status"]["conditions"] = [*conditions, {"type": kind, "status": status, "reason": "CriticalXid"}]

    return change


@pytest.mark.parametrize(
    ("enabled", "request_", "change", "allowed"),
    [
        (True, _request(), _set_condition("KWOKUnhealthy", "True"), True),
        (True, _request(), lambda n: n["status"]["conditions"].pop(), True),
        (True, _request(("n2",)), _set_condition("KWOKUnhealthy", "True"), False),
        (True, _request(None), _set_condition("KWOKUnhealthy", "True"), False),
        (True, _request(), _set_condition("Ready", "False"), False),
        (True, _request(), _set_condition("AcceleratedHardwareReady", "False"), False),
        (True, _request(), lambda n: n["status"]["capacity"].update({"nvidia.com/gpu": "8"}), False),
        (False, _request(), _set_condition("KWOKUnhealthy", "True"), False),
        (False, _request(), lambda n: None, True),
    ],
    ids=["own-condition", "own-condition-removed", "other-node", "no-node-claim", "ready", "other-type",
         "capacity", "repair-off", "repair-off-no-change"],
)
def test_condition_policy_cel_allows_only_the_repair_condition(
    enabled: bool, request_: dict[str, Any], change: Any, allowed: bool
) -> None:
    celpy = pytest.importorskip("celpy")
    config = {"nodeRepair": {"enabled": enabled, "conditionType": "KWOKUnhealthy", "unhealthyStatus": "True"}}
    policy = one(build(config), "ValidatingAdmissionPolicy", "gpu-node-agent-node-condition")
    activation = {
        "request": celpy.json_to_cel(request_),
        "object": celpy.json_to_cel(_status_changed(change)),
        "oldObject": celpy.json_to_cel(_OLD_STATUS),
    }
    environment = celpy.Environment()
    verdicts = [
        environment.program(environment.compile(v["expression"])).evaluate(activation)
        for v in policy["spec"]["validations"]
    ]
    passed = [isinstance(v, (bool, celpy.celtypes.BoolType)) and bool(v) for v in verdicts]
    assert all(passed) is allowed, verdicts


_TAINT = f"{_P}gpu-unhealthy"


def _taints(*extra: dict[str, Any]) -> Any:
    def change(node: dict[str, Any]) -> None:
        node["spec"]["taints"] = [*node["spec"]["taints"], *extra]

    return change


@pytest.mark.parametrize(
    ("taint_on", "change", "allowed"),
    [
        (True, _taints({"key": _TAINT, "effect": "NoSchedule"}), True),
        (True, lambda n: None, True),
        (True, _taints({"key": _TAINT, "effect": "NoExecute"}), False),
        (True, _taints({"key": _TAINT, "value": "x", "effect": "NoSchedule"}), False),
        (True, _taints({"key": "example.com/other", "effect": "NoSchedule"}), False),
        (True, lambda n: n["spec"].update({"taints": []}), False),
        (True, lambda n: n["spec"].update({"unschedulable": True}), False),
        (False, _taints({"key": _TAINT, "effect": "NoSchedule"}), False),
    ],
    ids=["own-taint", "no-change", "own-taint-noexecute", "own-taint-with-value", "other-taint", "gpu-taint-removed",
         "cordon", "taint-off"],
)
def test_node_policy_cel_allows_the_repair_taint_only_when_configured(taint_on: bool, change: Any, allowed: bool) -> None:
    celpy = pytest.importorskip("celpy")
    policy = one(build({"nodeRepair": {"taint": taint_on}}), "ValidatingAdmissionPolicy", "gpu-node-agent-node-labels")
    activation = {
        "request": celpy.json_to_cel(_request()),
        "object": celpy.json_to_cel(_changed(change)),
        "oldObject": celpy.json_to_cel(_OLD_NODE),
    }
    environment = celpy.Environment()
    verdicts = [
        environment.program(environment.compile(v["expression"])).evaluate(activation)
        for v in policy["spec"]["validations"]
    ]
    passed = [isinstance(v, (bool, celpy.celtypes.BoolType)) and bool(v) for v in verdicts]
    assert all(passed) is allowed, verdicts


def test_the_repair_taint_is_the_agents_switch_too() -> None:
    assert env(build({"nodeRepair": {"taint": True}}))["GPU_NODE_AGENT_REPAIR_TAINT"] == "true"
    assert "GPU_NODE_AGENT_REPAIR_TAINT" not in env(build())
