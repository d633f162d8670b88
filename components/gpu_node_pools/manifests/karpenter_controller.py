"""Karpenter's controller on EKS: the objects of its Helm chart (aws/karpenter-provider-aws charts/karpenter at
v1.15.0), rendered here as data with the chart's defaults and ours on top.

Same as the chart: kube-system, ServiceAccount `karpenter` (its Pod Identity association names it), the core and
AWS ClusterRoles word for word, the leader-election and kube-dns Roles, a metrics Service, a PDB, two replicas
spread over zones and hosts, `system-cluster-critical`, the `CriticalAddonsOnly` toleration, and the settings
environment the chart renders (cluster name, interruption queue, feature gates at the chart's defaults).
Left out: the chart's `karpenter-admin` ClusterRole aggregated into `admin`, which would let any namespace admin
bound cluster-wide create NodePools, i.e. GPU spend; pools and the node class belong to the stack.
Ours: requests and limits, seccomp RuntimeDefault, an affinity to our general managed pools (never a node Karpenter
launched: it would be deleting the node it runs on), and an image that can be pinned by digest. No IRSA annotation:
Pod Identity needs none.
"""

from __future__ import annotations

from typing import Any

from ..config.karpenter import KARPENTER_NAMESPACE, KARPENTER_SERVICE_ACCOUNT
from ..config.image import image_with_digest
from ..config.karpenter import KarpenterConfig
from ..contract import POOL_KIND_LABEL
from ._pod import container_security_context, pod_security_context

__all__ = ["KARPENTER_NODEPOOL_LABEL", "build_karpenter_controller", "controller_scheduling"]

# Every node Karpenter launches carries this label (the name of its NodePool).
KARPENTER_NODEPOOL_LABEL = "karpenter.sh/nodepool"
_NAME = KARPENTER_SERVICE_ACCOUNT
_SELECTOR = {"app.kubernetes.io/name": "karpenter", "app.kubernetes.io/instance": _NAME}
_METRICS_PORT = 8080
_HEALTH_PORT = 8081
# The chart's feature gates at their defaults (values.yaml settings.featureGates / awsFeatureGates), but NodeRepair on:
# Karpenter replaces a node whose AcceleratedHardwareReady condition (the node agent's) stays False past the AWS
# provider's toleration (10 minutes).
_FEATURE_GATES = (
    "ReservedCapacity=true,SpotToSpotConsolidation=false,NodeRepair=true,NodeOverlay=false,StaticCapacity=false,"
    "CapacityBuffer=false,TerminateFirstDrift=false,TerminateFirstRepair=false,PodDeletionCostManagement=false"
)
_AWS_FEATURE_GATES = "NodeClassCEL=false,DRANVIDIAGPU=false,DRAEFA=false,RebootForRepair=false"


def _labels(version: str) -> dict[str, str]:
    return {**_SELECTOR, "app.kubernetes.io/version": version, "app.kubernetes.io/managed-by": "gpu-node-pools"}


def _meta(name: str, version: str, namespace: str | None = KARPENTER_NAMESPACE) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": _labels(version)}
    if namespace:
        meta["namespace"] = namespace
    return meta


def _rule(groups: list[str], resources: list[str], verbs: list[str], names: list[str] | None = None) -> dict[str, Any]:
    rule: dict[str, Any] = {"apiGroups": groups, "resources": resources, "verbs": verbs}
    if names:
        rule["resourceNames"] = names
    return rule


_READ = ["get", "list", "watch"]
# charts/karpenter/templates/clusterrole-core.yaml (podDeletionCostManagement off: pods are only deleted).
_CORE_RULES = [
    _rule(["karpenter.sh"], ["nodepools", "nodepools/status", "nodeclaims", "nodeclaims/status", "nodeoverlays",
                             "nodeoverlays/status"], _READ),
    _rule(["autoscaling.x-k8s.io"], ["capacitybuffers", "capacitybuffers/status"], _READ),
    _rule([""], ["podtemplates"], _READ),
    _rule([""], ["pods", "nodes", "persistentvolumes", "persistentvolumeclaims", "replicationcontrollers",
                 "namespaces"], _READ),
    _rule(["storage.k8s.io"], ["storageclasses", "csinodes", "volumeattachments"], _READ),
    _rule(["apps"], ["daemonsets", "deployments", "replicasets", "statefulsets"], _READ),
    _rule(["autoscaling.k8s.io"], ["verticalpodautoscalers"], _READ),
    _rule(["policy"], ["poddisruptionbudgets"], _READ),
    _rule([""], ["events"], _READ),
    _rule(["resource.k8s.io"], ["deviceclasses", "resourceclaims", "resourceslices"], _READ),
    _rule(["karpenter.sh"], ["nodeclaims", "nodeclaims/status"], ["create", "delete", "update", "patch"]),
    _rule(["karpenter.sh"], ["nodepools", "nodepools/status", "nodeoverlays/status"], ["update", "patch"]),
    _rule(["autoscaling.x-k8s.io"], ["capacitybuffers/status"], ["update", "patch"]),
    _rule([""], ["events"], ["create", "patch"]),
    _rule([""], ["nodes"], ["patch", "delete", "update"]),
    _rule([""], ["pods/eviction"], ["create"]),
    _rule([""], ["pods"], ["delete"]),
]
# charts/karpenter/templates/clusterrole.yaml: the AWS provider's own kinds.
_AWS_RULES = [
    _rule(["karpenter.k8s.aws"], ["ec2nodeclasses"], _READ),
    _rule(["karpenter.k8s.aws"], ["ec2nodeclasses", "ec2nodeclasses/status"], ["patch", "update"]),
]
# charts/karpenter/templates/role.yaml: leader election, in the controller's namespace.
_LEADER_RULES = [
    _rule(["coordination.k8s.io"], ["leases"], ["get", "watch"]),
    _rule(["coordination.k8s.io"], ["leases"], ["patch", "update"], ["karpenter-leader-election"]),
    _rule(["coordination.k8s.io"], ["leases"], ["create"]),  # create can't be limited by resourceNames
]
_DNS_RULES = [_rule([""], ["services"], ["get"], ["kube-dns"])]


def controller_scheduling() -> dict[str, Any]:
    """Pod-spec fields: on our general managed pools only, one replica per host, spread over zones."""
    return {
        "nodeSelector": {"kubernetes.io/os": "linux"},
        "affinity": {
            "nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{
                "matchExpressions": [
                    {"key": KARPENTER_NODEPOOL_LABEL, "operator": "DoesNotExist"},
                    {"key": POOL_KIND_LABEL, "operator": "In", "values": ["general"]},
                ],
            }]}},
            "podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                {"topologyKey": "kubernetes.io/hostname", "labelSelector": {"matchLabels": dict(_SELECTOR)}},
            ]},
        },
        "topologySpreadConstraints": [{
            "maxSkew": 1,
            "topologyKey": "topology.kubernetes.io/zone",
            "whenUnsatisfiable": "DoNotSchedule",
            "labelSelector": {"matchLabels": dict(_SELECTOR)},
        }],
        "tolerations": [{"key": "CriticalAddonsOnly", "operator": "Exists"}],
    }


def _env(config: KarpenterConfig, cluster_name: str, queue_name: str | None) -> list[dict[str, Any]]:
    plain = {
        "KUBERNETES_MIN_VERSION": "1.19.0-0",
        "KARPENTER_SERVICE": _NAME,
        "LOG_LEVEL": config.controller.log_level,
        "LOG_OUTPUT_PATHS": "stdout",
        "LOG_ERROR_OUTPUT_PATHS": "stderr",
        "METRICS_PORT": str(_METRICS_PORT),
        "HEALTH_PROBE_PORT": str(_HEALTH_PORT),
    }
    settings = {
        "FEATURE_GATES": _FEATURE_GATES,
        "AWS_FEATURE_GATES": _AWS_FEATURE_GATES,
        "BATCH_MAX_DURATION": "10s",
        "BATCH_IDLE_DURATION": "1s",
        "PREFERENCE_POLICY": "Respect",
        "MIN_VALUES_POLICY": "Strict",
        "CLUSTER_NAME": cluster_name,
        "VM_MEMORY_OVERHEAD_PERCENT": "0.075",
        **({"INTERRUPTION_QUEUE": queue_name} if queue_name else {}),
        "RESERVED_ENIS": "0",
        "IGNORE_DRA_REQUESTS": "true",
        "AMI_REFRESH_INTERVAL": "1m",
        "SUBNET_REFRESH_INTERVAL": "1m",
        "SECURITY_GROUP_REFRESH_INTERVAL": "1m",
    }
    env: list[dict[str, Any]] = [{"name": k, "value": v} for k, v in plain.items()]
    env += [
        {"name": "SYSTEM_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
        {"name": "CPU_REQUESTS", "valueFrom": {"resourceFieldRef": {
            "containerName": "controller", "divisor": "1m", "resource": "requests.cpu"}}},
        {"name": "MEMORY_LIMIT", "valueFrom": {"resourceFieldRef": {
            "containerName": "controller", "divisor": "0", "resource": "limits.memory"}}},
    ]
    return env + [{"name": k, "value": v} for k, v in settings.items()]


def _deployment(config: KarpenterConfig, cluster_name: str, queue_name: str | None) -> dict[str, Any]:
    controller = config.controller
    container = {
        "name": "controller",
        "image": image_with_digest(controller.image, controller.image_digest),
        "imagePullPolicy": "IfNotPresent",
        # The chart's context plus seccomp; uid 65532 is the image's nonroot user.
        "securityContext": {**container_security_context(), "privileged": False, "runAsUser": 65532,
                            "runAsGroup": 65532},
        "env": _env(config, cluster_name, queue_name),
        "ports": [
            {"name": "http-metrics", "containerPort": _METRICS_PORT, "protocol": "TCP"},
            {"name": "http", "containerPort": _HEALTH_PORT, "protocol": "TCP"},
        ],
        "livenessProbe": {"initialDelaySeconds": 30, "timeoutSeconds": 30,
                          "httpGet": {"path": "/healthz", "port": "http"}},
        "readinessProbe": {"initialDelaySeconds": 5, "timeoutSeconds": 30,
                           "httpGet": {"path": "/readyz", "port": "http"}},
        "resources": controller.resources.to_k8s(),
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(_NAME, config.version),
        "spec": {
            "replicas": controller.replicas,
            "revisionHistoryLimit": 10,
            "strategy": {"rollingUpdate": {"maxUnavailable": 1}},
            "selector": {"matchLabels": dict(_SELECTOR)},
            "template": {
                "metadata": {"labels": dict(_SELECTOR)},
                "spec": {
                    # The controller talks to the API server all the time (exception to no automount: it is its job).
                    "automountServiceAccountToken": True,
                    "serviceAccountName": KARPENTER_SERVICE_ACCOUNT,
                    "securityContext": pod_security_context(run_as_user=65532),
                    "priorityClassName": "system-cluster-critical",
                    "dnsPolicy": "ClusterFirst",
                    "schedulerName": "default-scheduler",
                    "containers": [container],
                    **controller_scheduling(),
                },
            },
        },
    }


def build_karpenter_controller(
    config: KarpenterConfig, *, cluster_name: str, interruption_queue: str | None
) -> list[dict[str, Any]]:
    """The controller's objects, in apply order; nothing when Karpenter is off.

    `interruption_queue` is the SQS queue's name (None: no interruption handling).
    """
    if not config.enabled:
        return []
    version = config.version
    subject = [{"kind": "ServiceAccount", "name": KARPENTER_SERVICE_ACCOUNT, "namespace": KARPENTER_NAMESPACE}]

    def role(kind: str, name: str, rules: list[dict[str, Any]], namespace: str | None = None) -> dict[str, Any]:
        return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": _meta(name, version, namespace),
                "rules": rules}

    def binding(kind: str, name: str, namespace: str | None = None) -> dict[str, Any]:
        role_kind = "ClusterRole" if kind == "ClusterRoleBinding" else "Role"
        return {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": kind,
            "metadata": _meta(name, version, namespace),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": name},
            "subjects": subject,
        }

    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(KARPENTER_SERVICE_ACCOUNT, version),
         "automountServiceAccountToken": False},
        role("ClusterRole", f"{_NAME}-core", _CORE_RULES, None),
        binding("ClusterRoleBinding", f"{_NAME}-core", None),
        role("ClusterRole", _NAME, _AWS_RULES, None),
        binding("ClusterRoleBinding", _NAME, None),
        role("Role", _NAME, _LEADER_RULES, KARPENTER_NAMESPACE),
        binding("RoleBinding", _NAME, KARPENTER_NAMESPACE),
        role("Role", f"{_NAME}-dns", _DNS_RULES, "kube-system"),
        binding("RoleBinding", f"{_NAME}-dns", "kube-system"),
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": _meta(_NAME, version),
            "spec": {
                "type": "ClusterIP",
                "ports": [{"name": "http-metrics", "port": _METRICS_PORT, "targetPort": "http-metrics",
                           "protocol": "TCP"}],
                "selector": dict(_SELECTOR),
            },
        },
        _deployment(config, cluster_name, interruption_queue),
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": _meta(_NAME, version),
            "spec": {"maxUnavailable": 1, "selector": {"matchLabels": dict(_SELECTOR)}},
        },
    ]
