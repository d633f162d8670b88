"""The agent's three ValidatingAdmissionPolicies (and their bindings), matched on its user name.

On Nodes: only UPDATE, only the node named in its pod-bound token (`authentication.kubernetes.io/node-name`,
Kubernetes >= 1.32), only labels under its prefix (and GFD's keys when `gfdLabels`), and its own repair taint when
`nodeRepair.taint`; nothing else of the Node.
On nodes/status: only UPDATE of that same node, only the node repair condition's type (none when `nodeRepair` is
off), every other condition and status field as it was.
On Leases: only the one named after that same node, in its own namespace.
"""

from __future__ import annotations

from typing import Any

from ...config.node_agent import NODE_AGENT_NAME, NodeAgentConfig
from ._meta import meta
from .rbac import node_agent_service_account

__all__ = [
    "GFD_LABEL_KEYS",
    "NODE_NAME_CLAIM",
    "NODE_STATUS_FIELDS",
    "binding",
    "lease_policy",
    "node_condition_policy",
    "node_label_policy",
    "repair_taint_key",
]

# The keys `gfdLabels` adds, exactly as GPU Feature Discovery writes them.
GFD_LABEL_KEYS = ("nvidia.com/gpu.product", "nvidia.com/gpu.count", "nvidia.com/gpu.memory")
# NodeSpec's fields besides `taints` (Kubernetes 1.32): unchanged when the agent may set its repair taint.
NODE_SPEC_FIELDS = ("podCIDR", "podCIDRs", "providerID", "unschedulable", "configSource", "externalID")
# NodeStatus' fields besides `conditions` in Kubernetes 1.32 (the oldest supported): each must stay as it was. A field
# a newer release adds is not named here; one an API server does not know fails the policy's type check, which
# denies (failurePolicy Fail), never allows.
NODE_STATUS_FIELDS = (
    "capacity", "allocatable", "phase", "addresses", "daemonEndpoints", "nodeInfo", "images", "volumesInUse",
    "volumesAttached", "config", "runtimeHandlers", "features",
)
# Set by the API server on pod-bound service-account tokens (GA in Kubernetes 1.32).
NODE_NAME_CLAIM = "authentication.kubernetes.io/node-name"


def repair_taint_key(config: NodeAgentConfig) -> str:
    """The agent's taint with `nodeRepair.taint` (gpu_node_agent.repair.repair_taint_key)."""
    return f"{config.prefix}gpu-unhealthy"


def _cel_string(value: str) -> str:
    # Prefixes and label keys hold no quotes or backslashes (validated), so single quotes suffice.
    return f"'{value}'"


def _owned(config: NodeAgentConfig, key: str) -> str:
    """CEL: `key` is one the agent may set or remove."""
    test = f"{key}.startsWith({_cel_string(config.prefix)})"
    if config.gfd_labels:
        test += f" || {key} in [{', '.join(_cel_string(k) for k in GFD_LABEL_KEYS)}]"
    return f"({test})"


def _unchanged(path: str) -> str:
    """CEL: an optional field of the Node is the same before and after."""
    return f"has(object.{path}) == has(oldObject.{path}) && (!has(object.{path}) || object.{path} == oldObject.{path})"


_TOKEN_NODE = f"request.userInfo.extra[{_cel_string(NODE_NAME_CLAIM)}]"
_HAS_TOKEN_NODE = (
    f"has(request.userInfo.extra) && {_cel_string(NODE_NAME_CLAIM)} in request.userInfo.extra && "
    f"{_TOKEN_NODE}.size() == 1"
)


def _match_agent(config: NodeAgentConfig) -> list[dict[str, str]]:
    return [
        {
            "name": "is-gpu-node-agent",
            "expression": f"request.userInfo.username == {_cel_string(node_agent_service_account(config))}",
        }
    ]


def _taint_validations(key: str) -> list[dict[str, str]]:
    """CEL: of the Node's taints only `key` may come or go, and only as NoSchedule (`nodeRepair.taint`)."""
    others = f".filter(t, t.key != {_cel_string(key)})"
    return [
        {
            "expression": f"(has(object.spec.taints) ? object.spec.taints{others} : []) == "
            f"(has(oldObject.spec.taints) ? oldObject.spec.taints{others} : [])",
            "message": f"the node agent may only add or remove its own taint {key}",
        },
        {
            "expression": f"!has(object.spec.taints) || object.spec.taints.all(t, t.key != {_cel_string(key)} || "
            "(t.effect == 'NoSchedule' && !has(t.value)))",
            "message": f"the node agent's taint {key} is NoSchedule without a value",
        },
    ]


def node_label_policy(config: NodeAgentConfig) -> dict[str, Any]:
    taint = repair_taint_key(config) if config.node_repair.enabled and config.node_repair.taint else None
    owned_new = _owned(config, "k")
    validations = [
        {"expression": "request.operation == 'UPDATE'", "message": "the node agent may only update Nodes"},
        {
            "expression": f"{_HAS_TOKEN_NODE} && object.metadata.name == {_TOKEN_NODE}[0]",
            "message": "the node agent may only change the Node its pod runs on (pod-bound token node-name)",
        },
        {
            # Every label outside our keys keeps its value ...
            "expression": "!has(object.metadata.labels) || object.metadata.labels.all(k, "
            f"{owned_new} || (has(oldObject.metadata.labels) && k in oldObject.metadata.labels && "
            "oldObject.metadata.labels[k] == object.metadata.labels[k]))",
            "message": f"the node agent may only set labels under {config.prefix}",
        },
        {
            # ... and none of them disappears.
            "expression": "!has(oldObject.metadata.labels) || oldObject.metadata.labels.all(k, "
            f"{owned_new} || (has(object.metadata.labels) && k in object.metadata.labels))",
            "message": f"the node agent may only remove labels under {config.prefix}",
        },
        *(
            {"expression": _unchanged(path), "message": f"the node agent may not change {path}"}
            for path in (
                "metadata.annotations",
                "metadata.finalizers",
                "metadata.ownerReferences",
                *(("spec",) if taint is None else tuple(f"spec.{f}" for f in NODE_SPEC_FIELDS)),
                "status",
            )
        ),
        *([] if taint is None else _taint_validations(taint)),
    ]
    return _agent_policy(config, f"{NODE_AGENT_NAME}-node-labels", "", "nodes", validations)


def _conditions_except(obj: str, condition_type: str | None) -> str:
    """CEL: the Node's conditions other than `condition_type` (all of them for None), in order."""
    keep = "" if condition_type is None else f".filter(c, c.type != {_cel_string(condition_type)})"
    return f"(has({obj}.status.conditions) ? {obj}.status.conditions{keep} : [])"


def node_condition_policy(config: NodeAgentConfig) -> dict[str, Any]:
    """nodes/status: the repair condition of its own node, nothing else (nothing at all with nodeRepair off)."""
    repair = config.node_repair
    allowed = repair.condition_type if repair.enabled else None
    what = f"the {allowed} condition" if allowed else "nothing (nodeRepair is off)"
    validations = [
        {"expression": "request.operation == 'UPDATE'", "message": "the node agent may only update a Node's status"},
        {
            "expression": f"{_HAS_TOKEN_NODE} && object.metadata.name == {_TOKEN_NODE}[0]",
            "message": "the node agent may only change the status of the Node its pod runs on (pod-bound token node-name)",
        },
        {
            "expression": f"{_conditions_except('object', allowed)} == {_conditions_except('oldObject', allowed)}",
            "message": f"the node agent may change {what} in a Node's status.conditions",
        },
        *(
            {"expression": _unchanged(f"status.{name}"), "message": f"the node agent may not change status.{name}"}
            for name in NODE_STATUS_FIELDS
        ),
    ]
    return _agent_policy(config, f"{NODE_AGENT_NAME}-node-condition", "", "nodes/status", validations)


def lease_policy(config: NodeAgentConfig) -> dict[str, Any]:
    """The agent's heartbeat Leases live in its namespace and are named after the node in its token."""
    validations = [
        {
            "expression": f"request.operation != 'DELETE' && {_HAS_TOKEN_NODE} && "
            f"request.namespace == {_cel_string(config.namespace)} && "
            f"object.metadata.name == {_TOKEN_NODE}[0]",
            "message": "the node agent may only write the Lease named after its own node, in its namespace",
        }
    ]
    return _agent_policy(config, f"{NODE_AGENT_NAME}-leases", "coordination.k8s.io", "leases", validations)


def _agent_policy(
    config: NodeAgentConfig, name: str, api_group: str, resource: str, validations: list[dict[str, str]]
) -> dict[str, Any]:
    """A ValidatingAdmissionPolicy on the agent's own requests (its service account) to `resource`."""
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": meta(name),
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {
                "resourceRules": [
                    {
                        "apiGroups": [api_group],
                        "apiVersions": ["*"],
                        "operations": ["CREATE", "UPDATE", "DELETE"],
                        "resources": [resource],
                    }
                ]
            },
            "matchConditions": _match_agent(config),
            "validations": validations,
        },
    }


def binding(policy: str) -> dict[str, Any]:
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": meta(policy),
        "spec": {"policyName": policy, "validationActions": ["Deny"]},
    }
