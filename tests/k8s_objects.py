"""Reading the Kubernetes objects a builder returns, for the builders' tests: one object by kind, a workload's pod
spec and containers, and the config error a model reports for a key."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

__all__ = ["assert_refused", "containers", "of_kind", "one", "pod_spec", "pod_specs"]

Object = dict[str, Any]


def of_kind(objects: list[Object], kind: str) -> list[Object]:
    return [o for o in objects if o["kind"] == kind]


def one(objects: list[Object], kind: str, name: str | None = None) -> Object:
    """The only object of `kind` (named `name`, when given); fails when there are none or several."""
    found = [o for o in of_kind(objects, kind) if name in (None, o["metadata"]["name"])]
    assert len(found) == 1, f"{len(found)} objects of kind {kind}" + (f" named {name}" if name else "")
    return found[0]


def pod_specs(obj: Object) -> Iterator[Object]:
    """The pod spec a workload object runs (none for other kinds)."""
    if obj["kind"] == "Pod":
        yield obj["spec"]
    elif obj["kind"] == "CronJob":
        yield obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    elif obj["kind"] in ("DaemonSet", "Deployment", "StatefulSet", "ReplicaSet", "Job"):
        yield obj["spec"]["template"]["spec"]


def pod_spec(objects: list[Object], kind: str | None = None) -> Object:
    """The pod spec of the only workload among `objects` (of `kind`, when given)."""
    (spec,) = [spec for o in objects if kind in (None, o["kind"]) for spec in pod_specs(o)]
    return spec


def containers(spec: Object) -> list[Object]:
    """Init containers and containers of a pod spec."""
    return [*spec.get("initContainers", []), *spec["containers"]]


def assert_refused(model: type[BaseModel], config: Any, key: str, message: str) -> None:
    """`model` refuses `config` with an error at `key` (dotted, list indexes included) that contains `message`."""
    with pytest.raises(ValidationError) as raised:
        model.model_validate(config)
    errors = raised.value.errors()
    assert any(".".join(map(str, e["loc"])) == key and message in e["msg"] for e in errors), errors
