"""The kubeconfig of an EKS cluster, as plain data."""

from __future__ import annotations

from typing import Any

__all__ = ["eks_kubeconfig"]


def eks_kubeconfig(name: str, endpoint: str, ca_data: str, region: str | None) -> dict[str, Any]:
    """A kubeconfig that authenticates with `aws eks get-token` (short-lived tokens, no stored secret)."""
    args = ["eks", "get-token", "--cluster-name", name, "--output", "json"]
    if region:
        args += ["--region", region]
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": {"server": endpoint, "certificate-authority-data": ca_data}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
        "current-context": name,
        "users": [{
            "name": name,
            "user": {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": "aws", "args": args}},
        }],
    }
