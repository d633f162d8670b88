"""One unary gRPC call over a unix socket with the pure-Python `h2` HTTP/2 stack: what the pod-resources lookup needs
(one `List` every cycle), without grpcio's C core, which alone added about 15 MiB to the agent's RSS.

The call is gRPC's wire protocol as its HTTP/2 spec writes it: a POST of `/<service>/<method>` with
`content-type: application/grpc` and `te: trailers`, the message framed as 1 byte "compressed" (0) + 4 bytes big-endian
length + the serialized protobuf, and the answer's `grpc-status` in the trailers (or in the headers of a
trailers-only reply). A fresh connection per call: one call every 15 s needs no pooling or keepalive, and a kubelet
restart costs nothing. Errors come back as `RpcError` with the gRPC status code's name in lower kebab case
(`unavailable`, `deadline-exceeded`, `unimplemented`, ...), as grpcio would name them.
"""

from __future__ import annotations

import socket
import time

import h2.config
import h2.connection
import h2.events
import h2.exceptions

__all__ = ["RpcError", "unary_call"]

# gRPC status codes (grpc/doc/statuscodes.md), by number.
_STATUS = (
    "ok", "cancelled", "unknown", "invalid-argument", "deadline-exceeded", "not-found", "already-exists",
    "permission-denied", "resource-exhausted", "failed-precondition", "aborted", "out-of-range", "unimplemented",
    "internal", "unavailable", "data-loss", "unauthenticated",
)
# Large enough for any pod-resources answer; a bigger one is refused, as grpcio's default 4 MiB receive limit would.
MAX_MESSAGE_BYTES = 4 * 1024 * 1024


class RpcError(Exception):
    """The call failed; `kind` is the gRPC status name (`unavailable`, `deadline-exceeded`, ...)."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind


def _status(headers: list[tuple[bytes, bytes]]) -> str | None:
    for name, value in headers:
        if name == b"grpc-status":
            code = int(value)
            return _STATUS[code] if 0 <= code < len(_STATUS) else "unknown"
    return None


def unary_call(socket_path: str, method: str, request: bytes, timeout_seconds: float) -> bytes:
    """Calls `method` (`/package.Service/Method`) with the serialized `request`; the serialized reply."""
    deadline = time.monotonic() + timeout_seconds
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout_seconds)
        try:
            sock.connect(socket_path)
        except OSError as error:  # nobody listening, or the socket went away
            raise RpcError("unavailable", str(error)) from None
        return _exchange(sock, method, request, deadline)
    except TimeoutError:
        raise RpcError("deadline-exceeded") from None
    except (ConnectionError, h2.exceptions.ProtocolError) as error:
        raise RpcError("unavailable", str(error)) from None
    finally:
        sock.close()


def _exchange(sock: socket.socket, method: str, request: bytes, deadline: float) -> bytes:
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding=None))
    conn.initiate_connection()
    stream = conn.get_next_available_stream_id()
    conn.send_headers(stream, [
        (b":method", b"POST"), (b":scheme", b"http"), (b":path", method.encode()), (b":authority", b"localhost"),
        (b"content-type", b"application/grpc"), (b"te", b"trailers"),
    ])
    conn.send_data(stream, b"\x00" + len(request).to_bytes(4, "big") + request, end_stream=True)
    sock.sendall(conn.data_to_send())
    body = bytearray()
    status: str | None = None
    ended = False
    while not ended:
        sock.settimeout(max(deadline - time.monotonic(), 0.001))
        data = sock.recv(65536)
        if not data:
            raise RpcError("unavailable", "the server closed the connection mid-call")
        for event in conn.receive_data(data):
            if isinstance(event, (h2.events.ResponseReceived, h2.events.TrailersReceived)):
                status = _status(event.headers) or status
            elif isinstance(event, h2.events.DataReceived):
                body += event.data
                if len(body) > MAX_MESSAGE_BYTES + 5:
                    raise RpcError("resource-exhausted", f"reply over {MAX_MESSAGE_BYTES} bytes")
                conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, h2.events.StreamReset):
                raise RpcError("unavailable", f"stream reset (HTTP/2 error {event.error_code})")
            elif isinstance(event, (h2.events.StreamEnded, h2.events.ConnectionTerminated)):
                ended = True
        if not ended and (pending := conn.data_to_send()):  # acks and window updates; each send is a syscall
            sock.sendall(pending)
    if status is None:
        raise RpcError("unknown", "no grpc-status in the reply")
    if status != "ok":
        raise RpcError(status)
    if len(body) < 5 or body[0] != 0:
        raise RpcError("internal", "not one uncompressed gRPC message")
    length = int.from_bytes(body[1:5], "big")
    if len(body) != 5 + length:
        raise RpcError("internal", "the message length does not match the data")
    return bytes(body[5:])
