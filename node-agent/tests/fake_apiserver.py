"""A fake Kubernetes API server at the network boundary: real HTTP, the few endpoints the agent calls.

Nodes: list, GET and merge-PATCH (with resourceVersion preconditions, as the real server checks them); the status
subresource takes a strategic merge patch of `status.conditions`, merged by condition type as the real server does.
Leases: list and server-side apply. Bearer tokens are checked; `failures` queues canned error responses.
"""

from __future__ import annotations

import copy
import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

NODE_PATH = "/api/v1/nodes/"
LEASE_PATH = "/apis/coordination.k8s.io/v1/namespaces/"


def status(code: int, reason: str) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "message": reason,
        "reason": reason,
        "code": code,
    }


class FakeApiServer:
    def __init__(
        self, port: int = 0, tokens: tuple[str, ...] = ("token-1",), tls: tuple[str, str] | None = None
    ) -> None:
        """`tls`: (certificate file, key file) to serve HTTPS, as a real API server does."""
        self.nodes: dict[str, dict[str, Any]] = {}
        self.leases: dict[str, dict[str, Any]] = {}
        self.tokens = set(tokens)
        # (method, status, content-type or None for plain text, extra headers), served before normal handling.
        self.failures: list[tuple[str, int, bool, dict[str, str]]] = []
        self.requests: list[tuple[str, str, Any, str]] = []  # method, path, body, Authorization
        self.lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self._scheme = "http"
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
            self._scheme = "https"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        return f"{self._scheme}://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FakeApiServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def add_node(self, name: str, labels: dict[str, str], **extra: Any) -> None:
        self.nodes[name] = {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": name, "resourceVersion": "1", "labels": dict(labels), **extra},
            "spec": {"taints": [{"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}]},
        }

    def fail_next(self, method: str, code: int, *, json_body: bool = True, **headers: str) -> None:
        self.failures.append((method, code, json_body, headers))

    def calls(self, method: str) -> list[tuple[str, str, Any, str]]:
        return [r for r in self.requests if r[0] == method]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _reply(
                self, code: int, body: Any, json_body: bool = True, headers: dict[str, str] | None = None
            ) -> None:
                data = json.dumps(body).encode() if json_body else str(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json" if json_body else "text/plain")
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def _handle(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                auth = self.headers.get("Authorization", "")
                with fake.lock:
                    fake.requests.append((method, self.path, body, auth))
                    if auth.removeprefix("Bearer ") not in fake.tokens:
                        return self._reply(401, status(401, "Unauthorized"))
                    for n, (fail_method, code, json_body, headers) in enumerate(fake.failures):
                        if fail_method == method:
                            del fake.failures[n]
                            text = status(code, "Injected") if json_body else "<html>bad gateway</html>"
                            return self._reply(code, text, json_body, headers)
                    path = self.path.split("?")[0]
                    if method == "GET" and path == NODE_PATH.rstrip("/"):
                        return self._list("NodeList", fake.nodes.values())
                    if method == "GET" and path.startswith(LEASE_PATH) and path.endswith("/leases"):
                        return self._list("LeaseList", fake.leases.values())
                    if path.startswith(NODE_PATH):
                        return self._node(method, path.removeprefix(NODE_PATH), body)
                    if path.startswith(LEASE_PATH) and method == "PATCH":
                        return self._lease(body)
                    return self._reply(404, status(404, "NotFound"))

            def _list(self, kind: str, items: Any) -> None:
                self._reply(
                    200, {"kind": kind, "apiVersion": "v1", "metadata": {}, "items": [copy.deepcopy(i) for i in items]}
                )

            def _node(self, method: str, name: str, body: Any) -> None:
                name, _, subresource = name.partition("/")
                node = fake.nodes.get(name)
                if node is None or subresource not in ("", "status"):
                    return self._reply(404, status(404, "NotFound"))
                if method == "PATCH" and subresource == "status":
                    if self.headers.get("Content-Type") != "application/strategic-merge-patch+json":
                        return self._reply(415, status(415, "UnsupportedMediaType"))
                    if set(body) != {"status"}:
                        return self._reply(422, status(422, "Invalid"))  # the status strategy ignores the rest
                    conditions = node.setdefault("status", {}).setdefault("conditions", [])
                    for entry in body["status"].get("conditions", []):
                        at = next((i for i, c in enumerate(conditions) if c["type"] == entry["type"]), None)
                        if at is None:
                            conditions.append(entry)
                        else:
                            conditions[at] = {**conditions[at], **entry}
                    node["metadata"]["resourceVersion"] = str(int(node["metadata"]["resourceVersion"]) + 1)
                elif method == "PATCH":
                    if self.headers.get("Content-Type") != "application/merge-patch+json":
                        return self._reply(415, status(415, "UnsupportedMediaType"))
                    wanted = body["metadata"].get("resourceVersion")
                    if wanted is not None and wanted != node["metadata"]["resourceVersion"]:
                        return self._reply(409, status(409, "Conflict"))
                    if "taints" in body.get("spec", {}):  # a merge patch replaces the list whole
                        node["spec"]["taints"] = body["spec"]["taints"]
                    labels = node["metadata"].setdefault("labels", {})
                    for key, value in body["metadata"].get("labels", {}).items():
                        if value is None:
                            labels.pop(key, None)
                        else:
                            labels[key] = value
                    node["metadata"]["resourceVersion"] = str(int(node["metadata"]["resourceVersion"]) + 1)
                self._reply(200, copy.deepcopy(node))

            def _lease(self, body: Any) -> None:
                fake.leases[body["metadata"]["name"]] = body
                self._reply(200, body)

            def do_GET(self) -> None:  # noqa: N802
                self._handle("GET")

            def do_PATCH(self) -> None:  # noqa: N802
                self._handle("PATCH")

        return Handler
