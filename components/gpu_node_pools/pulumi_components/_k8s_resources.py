"""Hand plain Kubernetes objects to pulumi-kubernetes: one typed resource per object, parented to a component."""

from __future__ import annotations

import importlib
import re
from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

__all__ = ["declare_objects", "resource_class"]

# API group -> pulumi_kubernetes module (the SDK names modules by the group's first label, rbac excepted).
_GROUP_MODULES = {
    "": "core",
    "apps": "apps",
    "policy": "policy",
    "rbac.authorization.k8s.io": "rbac",
    "scheduling.k8s.io": "scheduling",
    "networking.k8s.io": "networking",
    "admissionregistration.k8s.io": "admissionregistration",
    "apiregistration.k8s.io": "apiregistration",
    "coordination.k8s.io": "coordination",
    "apiextensions.k8s.io": "apiextensions",
}
# Groups served by CRDs (Karpenter's, EKS Auto Mode's, prometheus-operator's): their objects are declared as generic
# `apiextensions.CustomResource`s.
_CUSTOM_RESOURCE_GROUPS = frozenset({
    "karpenter.sh", "karpenter.k8s.aws", "karpenter.kwok.sh", "eks.amazonaws.com", "monitoring.coreos.com",
})


def resource_class(api_version: str, kind: str) -> type[pulumi.CustomResource]:
    group, _, version = api_version.rpartition("/")
    if group not in _GROUP_MODULES:
        raise ValueError(f"no pulumi-kubernetes module known for API group {group!r} ({kind})")
    module = importlib.import_module(f"pulumi_kubernetes.{_GROUP_MODULES[group]}.{version}")
    resource: type[pulumi.CustomResource] = getattr(module, kind)
    return resource


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def declare_objects(
    objects: list[dict[str, Any]],
    parent: pulumi.Resource,
    depends_on: Sequence[pulumi.Resource] = (),
    *,
    previous_parent: pulumi.Input[str] | None = None,
) -> dict[str, pulumi.CustomResource]:
    """Declare each object as a child of `parent`, after `depends_on`; namespaced objects wait for a Namespace
    declared here. `previous_parent` (a URN) is where the objects were declared before: an alias, so the engine
    moves them to `parent` instead of replacing them.

    Nested fields keep Kubernetes' camelCase (the SDK passes dict inputs through); only top-level fields are
    Python keyword arguments.
    """
    resources: dict[str, pulumi.CustomResource] = {}
    namespaces: dict[str, pulumi.CustomResource] = {}
    for obj in objects:
        meta = obj["metadata"]
        name = "/".join(p for p in (obj["kind"].lower(), meta.get("namespace"), meta["name"]) if p)
        depends = [*depends_on, *([namespaces[meta["namespace"]]] if meta.get("namespace") in namespaces else [])]
        aliases = [pulumi.Alias(parent=previous_parent)] if previous_parent is not None else None
        opts = pulumi.ResourceOptions(parent=parent, depends_on=depends, aliases=aliases)
        resource: pulumi.CustomResource
        if obj["apiVersion"].rpartition("/")[0] in _CUSTOM_RESOURCE_GROUPS:
            fields = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata")}
            resource = k8s.apiextensions.CustomResource(
                name, api_version=obj["apiVersion"], kind=obj["kind"], metadata=meta, opts=opts, **fields
            )
        else:
            kwargs = {_snake(k): v for k, v in obj.items() if k not in ("apiVersion", "kind")}
            resource = resource_class(obj["apiVersion"], obj["kind"])(name, opts=opts, **kwargs)
        if obj["kind"] == "Namespace":
            namespaces[meta["name"]] = resource
        resources[name] = resource
    return resources
