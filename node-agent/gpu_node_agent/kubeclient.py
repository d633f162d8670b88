"""How the agent reaches the API server, and the four requests it makes there: read its Node, merge-patch its
labels (and taints), strategic-merge-patch its status conditions, server-side apply its Lease.

A small client over the standard library's `http.client` rather than lightkube: lightkube with its HTTP stack
(httpx2, httpcore2, anyio, msgspec) and the generated models of the API groups it loads cost the running agent about
11 MiB of RSS for these four calls (docs/node-agent.md, "The API client"). The `cluster` command, which lists across
the cluster, still uses lightkube, and so does `--kubeconfig` to read a kubeconfig file.

Targets: the in-cluster service account (default), a kubeconfig file, or an explicit server URL with a token
file. Tokens are read from their file and read again on a 401, so a rotated projected token is picked up without
a restart (as client-go's token-file auth does).
"""

from __future__ import annotations

import http.client
import json
import os
import select
import ssl
import subprocess
import threading
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "FIELD_MANAGER",
    "ApiError",
    "Credentials",
    "KubeClient",
    "KubeTarget",
    "TransportError",
    "make_client",
]

FIELD_MANAGER = "gpu-node-agent"
SERVICE_ACCOUNT = Path("/var/run/secrets/kubernetes.io/serviceaccount")
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"  # JSON is YAML


class ApiError(Exception):
    """The API server answered with an error status (`status`); `retry_after` from its header, if any."""

    def __init__(self, status: int, message: str, retry_after: str | None = None) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.retry_after = retry_after


class TransportError(Exception):
    """No answer: the connection failed, timed out or broke."""


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


class Credentials:
    """The Authorization header: a bearer token read from a file (again when `refresh`), a fixed token, or an
    exec plugin's token (run again when `refresh`); None sends no header (client certificates)."""

    def __init__(
        self, token_file: str | None = None, token: str | None = None, command: Callable[[], str] | None = None
    ) -> None:
        self._token_file = token_file
        self._token = token
        self._command = command
        self._bearer: str | None = None

    def header(self, refresh: bool = False) -> str | None:
        if self._bearer is None or refresh:
            if self._token_file is not None:
                self._bearer = f"Bearer {Path(self._token_file).read_text().strip()}"
            elif self._command is not None:
                self._bearer = f"Bearer {self._command()}"
            elif self._token is not None:
                self._bearer = f"Bearer {self._token}"
        return self._bearer

    @property
    def refreshable(self) -> bool:
        return self._token_file is not None or self._command is not None


class KubeClient:
    """One keep-alive connection to the API server, reopened after any failure; safe across threads."""

    def __init__(
        self, server: str, credentials: Credentials, context: ssl.SSLContext | None, timeout_seconds: float
    ) -> None:
        url = urllib.parse.urlsplit(server)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(f"API server URL {server!r}: expected http(s)://HOST[:PORT]")
        self._https = url.scheme == "https"
        self._host, self._port = url.hostname, url.port
        self._base = url.path.rstrip("/")
        self._credentials = credentials
        self._context = context
        self._timeout = timeout_seconds
        self._connection: http.client.HTTPConnection | None = None
        self._lock = threading.Lock()

    def get_node(self, name: str) -> dict[str, Any]:
        return self._request("GET", f"/api/v1/nodes/{name}")

    def patch_node(self, name: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """A JSON merge patch of the Node (labels, taints)."""
        return self._request("PATCH", f"/api/v1/nodes/{name}", body, MERGE_PATCH)

    def patch_node_status(self, name: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """A strategic merge patch of the Node's status subresource (conditions merge by type)."""
        return self._request("PATCH", f"/api/v1/nodes/{name}/status", body, STRATEGIC_MERGE_PATCH)

    def apply_lease(self, namespace: str, name: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Server-side apply of a Lease, taking over its fields from any other manager (`force`)."""
        path = f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/{name}"
        return self._request("PATCH", path, body, APPLY_PATCH, force=True)

    def close(self) -> None:
        with self._lock:
            self._drop()

    def _request(
        self, method: str, path: str, body: Mapping[str, Any] | None = None, content_type: str | None = None,
        force: bool = False,
    ) -> dict[str, Any]:
        if body is not None:
            query = {"fieldManager": FIELD_MANAGER, **({"force": "true"} if force else {})}
            path = f"{path}?{urllib.parse.urlencode(query)}"
        data = None if body is None else json.dumps(body).encode()
        with self._lock:
            status, text, retry_after = self._send(method, self._base + path, data, content_type, refresh=False)
            if status == 401 and self._credentials.refreshable:  # a rotated token: read it again, once
                status, text, retry_after = self._send(method, self._base + path, data, content_type, refresh=True)
        if status >= 400:
            raise ApiError(status, _message(text), retry_after)
        return json.loads(text) if text else {}

    def _send(
        self, method: str, path: str, data: bytes | None, content_type: str | None, refresh: bool
    ) -> tuple[int, bytes, str | None]:
        headers = {"Accept": "application/json"}
        if content_type is not None:
            headers["Content-Type"] = content_type
        if (auth := self._credentials.header(refresh)) is not None:
            headers["Authorization"] = auth
        try:
            connection = self._reusable() or self._open()
            connection.request(method, path, data, headers)
            response = connection.getresponse()
            text = response.read()
        except (OSError, http.client.HTTPException) as error:  # refused, reset, timed out, TLS, malformed
            self._drop()
            raise TransportError(f"{method} {path}: {error or type(error).__name__}") from error
        if response.will_close:
            self._drop()
        return response.status, text, response.getheader("Retry-After")

    def _reusable(self) -> http.client.HTTPConnection | None:
        """The kept-alive connection, unless the server closed it while idle (readable means EOF: no request was
        outstanding), as httpcore checks too; else a stale socket would fail the next request and cost a retry."""
        connection = self._connection
        if connection is not None and connection.sock is not None and select.select([connection.sock], [], [], 0)[0]:
            self._drop()
            return None
        return connection

    def _open(self) -> http.client.HTTPConnection:
        if self._https:
            self._connection = http.client.HTTPSConnection(
                self._host, self._port, timeout=self._timeout, context=self._context
            )
        else:
            self._connection = http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)
        return self._connection

    def _drop(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def _message(text: bytes) -> str:
    """A Status object's message, else the start of the body (a proxy's error page)."""
    try:
        return str(json.loads(text)["message"])
    except (ValueError, KeyError, TypeError):
        return text[:200].decode(errors="replace")


def _tls(ca_file: str | None, insecure: bool) -> ssl.SSLContext:
    if insecure:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    return ssl.create_default_context(cafile=ca_file)


def _in_cluster(env: Mapping[str, str], account: Path, timeout_seconds: float) -> KubeClient:
    host, port = env.get("KUBERNETES_SERVICE_HOST"), env.get("KUBERNETES_SERVICE_PORT")
    if not host or not port:
        raise RuntimeError("not in a cluster: KUBERNETES_SERVICE_HOST/PORT unset (give --kubeconfig or --api-server)")
    server = f"https://[{host}]:{port}" if ":" in host else f"https://{host}:{port}"
    context = _tls(str(account / "ca.crt"), insecure=False)
    return KubeClient(server, Credentials(token_file=str(account / "token")), context, timeout_seconds)


def _from_kubeconfig(path: str, timeout_seconds: float) -> KubeClient:
    """The kubeconfig's current context, read by lightkube's parser (a developer's path, not the DaemonSet's)."""
    from lightkube import KubeConfig
    from lightkube.config.client_adapter import verify_cluster

    config = KubeConfig.from_file(path).get()
    if config is None or config.user is None:
        raise RuntimeError(f"kubeconfig {path}: no current context, or it names no user")
    user = config.user
    if user.auth_provider or (user.username and user.password):
        # as lightkube: no auth-provider; basic auth left Kubernetes in 1.19
        raise RuntimeError(f"kubeconfig {path}: auth-provider and basic auth are not supported; use a token or exec")
    command: Callable[[], str] | None = None
    if user.exec is not None:
        argv = [user.exec.command, *(user.exec.args or [])]
        env = {**os.environ, **{v.name: v.value for v in user.exec.env or []}}

        def run_plugin() -> str:  # an ExecCredential on stdout, as `aws eks get-token` prints it
            run = subprocess.run(argv, env=env, capture_output=True, check=True)
            return str(json.loads(run.stdout)["status"]["token"])

        command = run_plugin
    token_file = str(config.abs_file(user.token_file)) if user.token_file else None
    credentials = Credentials(token_file=token_file, token=user.token, command=command)
    # verify_cluster: the cluster's CA (file or data) or, as lightkube does, the system's; the user's client certificate
    context = verify_cluster(config.cluster, user, config.abs_file, trust_env=False)
    return KubeClient(config.cluster.server, credentials, context, timeout_seconds)


def make_client(
    target: KubeTarget,
    timeout_seconds: float = 10.0,
    env: Mapping[str, str] = os.environ,
    service_account: Path = SERVICE_ACCOUNT,
) -> KubeClient:
    if target.kubeconfig:
        return _from_kubeconfig(target.kubeconfig, timeout_seconds)
    if target.api_server:
        context = None
        if target.api_server.startswith("https:"):
            context = _tls(target.ca_file, target.insecure_skip_tls_verify)
        return KubeClient(target.api_server, Credentials(token_file=target.token_file), context, timeout_seconds)
    return _in_cluster(env, service_account, timeout_seconds)
