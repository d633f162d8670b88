"""Pod-spec pieces shared by every workload we deploy: the secure defaults, in one place."""

from __future__ import annotations

from typing import Any

__all__ = ["container_security_context", "pod_security_context"]

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

