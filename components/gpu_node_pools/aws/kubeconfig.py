"""The kubeconfig of an EKS cluster, as plain data."""

from __future__ import annotations

from typing import Any

__all__ = ["TOKEN_COMMAND", "eks_kubeconfig"]

# What the kubeconfig runs for a token: the AWS CLI, a prerequisite of every Kubernetes call on an EKS stack.
TOKEN_COMMAND = "aws"


def eks_kubeconfig(
    name: str,
    endpoint: str,
    ca_data: str,
    region: str | None,
    *,
    profile: str | None = None,
    role_arn: str | None = None,
) -> dict[str, Any]:
    """A kubeconfig that authenticates with `aws eks get-token` (short-lived tokens, no stored secret).

    `profile` and `role_arn` are the aws provider's (`aws:profile`, `aws:assumeRoles`): the token must name the
    identity that created the cluster, the one EKS made its admin.
    """
    args = ["eks", "get-token", "--cluster-name", name, "--output", "json"]
    if region:
        args += ["--region", region]
    if role_arn:
        args += ["--role-arn", role_arn]
    if profile:
        args += ["--profile", profile]
    exec_: dict[str, Any] = {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": TOKEN_COMMAND, "args": args}
    if profile:
        exec_["env"] = [{"name": "AWS_PROFILE", "value": profile}]
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": {"server": endpoint, "certificate-authority-data": ca_data}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
        "current-context": name,
        "users": [{"name": name, "user": {"exec": exec_}}],
    }
