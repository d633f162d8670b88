"""How the agent reaches the API server: in-cluster service account (default), a kubeconfig file, or an
explicit server URL with a token file. Tokens are read from their file and read again on a 401, so a rotated
projected token is picked up without a restart (lightkube's token-file auth, like client-go's)."""

from __future__ import annotations

from dataclasses import dataclass

import httpx2
from lightkube import Client, KubeConfig
from lightkube.config.models import Cluster, User

__all__ = ["KubeTarget", "load_kubeconfig", "make_client"]

FIELD_MANAGER = "gpu-node-agent"


@dataclass(frozen=True)
class KubeTarget:
    kubeconfig: str | None = None
    api_server: str | None = None
    token_file: str | None = None
    ca_file: str | None = None
    insecure_skip_tls_verify: bool = False

    def describe(self) -> str:
        if self.kubeconfig:
            return f"kubeconfig {self.kubeconfig}"
        if self.api_server:
            return f"{self.api_server} with token file {self.token_file}"
        return "in-cluster service account"


def load_kubeconfig(target: KubeTarget) -> KubeConfig:
    if target.kubeconfig:
        return KubeConfig.from_file(target.kubeconfig)
    if target.api_server:
        cluster = Cluster(
            server=target.api_server, certificate_auth=target.ca_file, insecure=target.insecure_skip_tls_verify
        )
        return KubeConfig.from_one(cluster=cluster, user=User(token_file=target.token_file))
    return KubeConfig.from_service_account()


def make_client(target: KubeTarget, timeout_seconds: float = 10.0) -> Client:
    return Client(
        config=load_kubeconfig(target),
        timeout=httpx2.Timeout(timeout_seconds),
        field_manager=FIELD_MANAGER,
        trust_env=False,
    )
