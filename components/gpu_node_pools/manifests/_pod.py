"""Pod-spec pieces shared by every workload we deploy: the secure defaults, in one place."""

from __future__ import annotations

from typing import Any

__all__ = ["container_security_context", "pod_security_context", "resources"]

RUNTIME_DEFAULT_SECCOMP = {"type": "RuntimeDefault"}


def container_security_context(*, run_as_non_root: bool = True, read_only_root: bool = True) -> dict[str, Any]:
    """Restricted-profile container security context: no privilege escalation, drop ALL, seccomp.

    `run_as_non_root=False` is an exception that the caller must name and justify next to the call.
    """
    context: dict[str, Any] = {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "readOnlyRootFilesystem": read_only_root,
        "seccompProfile": RUNTIME_DEFAULT_SECCOMP,
    }
    if run_as_non_root:
        context["runAsNonRoot"] = True
    return context


def pod_security_context(*, run_as_user: int | None = 65532) -> dict[str, Any]:
    """Pod-level security context; 65532 is distroless' `nonroot` user."""
    context: dict[str, Any] = {"seccompProfile": RUNTIME_DEFAULT_SECCOMP}
    if run_as_user is not None:
        context.update(runAsNonRoot=True, runAsUser=run_as_user, runAsGroup=run_as_user)
    return context


def resources(
    cpu: str,
    memory: str,
    *,
    cpu_limit: str,
    memory_limit: str | None = None,
    ephemeral_storage: str | None = None,
    ephemeral_storage_limit: str | None = None,
) -> dict[str, Any]:
    """Requests and limits for cpu and memory; the memory limit defaults to the request (Guaranteed memory).

    Every container we ship sets all four: the guardrails (LimitRange, policy pack) demand them of users too.
    Ephemeral storage is added where given.
    """
    requests = {"cpu": cpu, "memory": memory}
    limits = {"cpu": cpu_limit, "memory": memory_limit or memory}
    if ephemeral_storage is not None:
        requests["ephemeral-storage"] = ephemeral_storage
    if ephemeral_storage_limit is not None:
        limits["ephemeral-storage"] = ephemeral_storage_limit
    return {"requests": requests, "limits": limits}
