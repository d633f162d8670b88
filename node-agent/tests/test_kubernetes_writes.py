"""Label writes and heartbeats against a fake API server over real HTTP: only our keys, only labels,
retries on connection errors / 409 / 429 / 5xx, no retry on 403, a rotated token picked up."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from fake_apiserver import FakeApiServer

from gpu_node_agent.kubeclient import ApiError, KubeTarget, TransportError, make_client
from gpu_node_agent.labels import GFD_KEYS
from gpu_node_agent.lease import DEFAULT_LEASE_SECONDS, Heartbeat, lease_duration
from gpu_node_agent.nodelabels import NodeLabeler, label_patch, ownership
from gpu_node_agent.retry import Backoff

P = "node-agent.gpu-node-pools.io/"
OWNS = ownership(P)
FAST = Backoff(base_seconds=0.001, cap_seconds=0.01, budget_seconds=2.0, max_attempts=5)
FOREIGN = {"gpu-node-pools.io/pool": "training", "nvidia.com/gpu.product": "from-gfd", "kubernetes.io/hostname": "n1"}


@pytest.fixture
def api(token_file: Path):
    with FakeApiServer() as server:
        server.add_node("n1", {**FOREIGN, f"{P}gpu.count": "8", f"{P}gpu.family": "hopper"}, annotations={"a": "b"})
        yield server


def labeler(api: FakeApiServer, token_file: Path, owns=OWNS, backoff: Backoff = FAST) -> NodeLabeler:
    client = make_client(KubeTarget(api_server=api.url, token_file=str(token_file)), timeout_seconds=2)
    return NodeLabeler(client, "n1", owns, backoff)


def test_patch_adds_updates_and_removes_only_our_keys(api: FakeApiServer, token_file: Path) -> None:
    assert labeler(api, token_file).sync({f"{P}gpu.count": "4", f"{P}gpu.health": "ok"})
    ((_, path, body, auth),) = api.calls("PATCH")
    assert path == "/api/v1/nodes/n1?fieldManager=gpu-node-agent" and auth == "Bearer token-1"
    # The whole patch: labels (ours only) and the read resourceVersion, nothing else of the Node.
    assert body == {
        "metadata": {
            "resourceVersion": "1",
            "labels": {f"{P}gpu.count": "4", f"{P}gpu.health": "ok", f"{P}gpu.family": None},
        }
    }
    labels = api.nodes["n1"]["metadata"]["labels"]
    assert labels == {**FOREIGN, f"{P}gpu.count": "4", f"{P}gpu.health": "ok"}
    assert api.nodes["n1"]["metadata"]["annotations"] == {"a": "b"}


def test_no_patch_when_the_node_already_carries_the_labels(api: FakeApiServer, token_file: Path) -> None:
    assert not labeler(api, token_file).sync({f"{P}gpu.count": "8", f"{P}gpu.family": "hopper"})
    assert api.calls("PATCH") == [] and len(api.calls("GET")) == 1


def test_gfd_keys_are_owned_only_in_gfd_mode(api: FakeApiServer, token_file: Path) -> None:
    with pytest.raises(ValueError, match="outside the agent's ownership.*nvidia.com/gpu.product"):
        label_patch({}, {"nvidia.com/gpu.product": "x"}, OWNS)
    gfd = labeler(api, token_file, owns=ownership(P, GFD_KEYS))
    assert gfd.sync({f"{P}gpu.count": "8", f"{P}gpu.family": "hopper", "nvidia.com/gpu.product": "NVIDIA-H100"})
    labels = api.nodes["n1"]["metadata"]["labels"]
    assert labels["nvidia.com/gpu.product"] == "NVIDIA-H100" and labels["gpu-node-pools.io/pool"] == "training"


@pytest.mark.parametrize(
    ("method", "code", "json_body", "headers"),
    [
        ("PATCH", 429, True, {"Retry-After": "0"}),
        ("PATCH", 500, True, {}),
        ("GET", 503, True, {}),
        ("PATCH", 502, False, {}),  # a proxy's HTML error page, not a Status
        ("PATCH", 409, True, {}),
    ],
)
def test_transient_errors_are_retried(
    api: FakeApiServer, token_file: Path, method: str, code: int, json_body: bool, headers: dict[str, str]
) -> None:
    api.fail_next(method, code, json_body=json_body, **headers)
    api.fail_next(method, code, json_body=json_body, **headers)
    assert labeler(api, token_file).sync({f"{P}gpu.health": "ok"})
    assert api.nodes["n1"]["metadata"]["labels"][f"{P}gpu.health"] == "ok"
    assert len(api.calls(method)) == 3


def test_a_real_conflict_rereads_the_node(api: FakeApiServer, token_file: Path) -> None:
    writer = labeler(api, token_file)
    original_get = writer._client.get_node

    def get_then_someone_else_writes(*args, **kwargs):
        node = original_get(*args, **kwargs)
        if len(api.calls("GET")) == 1:  # another writer bumps the version between our GET and PATCH
            api.nodes["n1"]["metadata"]["resourceVersion"] = "7"
        return node

    writer._client.get_node = get_then_someone_else_writes  # type: ignore[method-assign]
    assert writer.sync({f"{P}gpu.health": "ok"})
    assert [r[2]["metadata"]["resourceVersion"] for r in api.calls("PATCH")] == ["1", "7"]


def test_forbidden_is_not_retried(api: FakeApiServer, token_file: Path) -> None:
    api.fail_next("PATCH", 403)
    with pytest.raises(ApiError):
        labeler(api, token_file).sync({f"{P}gpu.health": "ok"})
    assert len(api.calls("PATCH")) == 1


def test_retries_stop_at_the_budget(api: FakeApiServer, token_file: Path) -> None:
    for _ in range(10):
        api.fail_next("GET", 503)
    with pytest.raises(ApiError):
        labeler(api, token_file).sync({f"{P}gpu.health": "ok"})
    assert len(api.calls("GET")) == FAST.max_attempts


def test_unreachable_api_server_raises_a_connection_error_after_retries(token_file: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once closed
    client = make_client(KubeTarget(api_server=f"http://127.0.0.1:{port}", token_file=str(token_file)), 1)
    with pytest.raises(TransportError):
        NodeLabeler(client, "n1", OWNS, FAST).sync({f"{P}gpu.health": "ok"})


def test_a_rotated_token_is_picked_up_without_a_restart(api: FakeApiServer, token_file: Path) -> None:
    writer = labeler(api, token_file)
    assert writer.sync({f"{P}gpu.health": "ok"})
    token_file.write_text("token-2\n")  # the kubelet rotated the projected token
    api.tokens = {"token-2"}  # and the old one expired
    assert writer.sync({f"{P}gpu.health": "degraded"})
    assert [r[3] for r in api.requests] == [
        "Bearer token-1",
        "Bearer token-1",  # first sync: GET, PATCH
        "Bearer token-1",
        "Bearer token-2",  # 401 on the old token, re-read, retried
        "Bearer token-2",
    ]


def test_heartbeat_applies_a_lease_named_after_the_node(api: FakeApiServer, token_file: Path) -> None:
    client = make_client(KubeTarget(api_server=api.url, token_file=str(token_file)), 2)
    Heartbeat(client, "n1", "gpu-node-agent", 45, FAST).beat(datetime(2026, 11, 23, 9, 0, 1, 5, tzinfo=timezone.utc))
    ((_, path, body, _),) = api.calls("PATCH")
    assert path.startswith("/apis/coordination.k8s.io/v1/namespaces/gpu-node-agent/leases/n1?")
    assert "fieldManager=gpu-node-agent" in path and "force=true" in path
    assert body["spec"] == {
        "holderIdentity": "n1",
        "leaseDurationSeconds": 45,
        "renewTime": "2026-11-23T09:00:01.000005Z",
    }


@pytest.mark.parametrize(("interval", "duration"), [(1, 120), (15, 120), (30, 120), (60, 240), (45.5, 182), (45.6, 183)])
def test_the_lease_lasts_120_s_or_four_cycles(interval: float, duration: int) -> None:
    assert lease_duration(interval) == duration
    assert DEFAULT_LEASE_SECONDS == 120


def test_the_lease_is_renewed_at_a_quarter_of_its_duration_not_every_cycle(
    api: FakeApiServer, token_file: Path
) -> None:
    client = make_client(KubeTarget(api_server=api.url, token_file=str(token_file)), 2)
    beat = Heartbeat(client, "n1", "gpu-node-agent", lease_duration(15), FAST)
    start = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)
    wrote = [beat.beat(start + timedelta(seconds=15 * n)) for n in range(9)]  # two minutes of 15 s cycles
    assert wrote == [True, False, True, False, True, False, True, False, True]
    assert len(api.calls("PATCH")) == 5 and api.calls("PATCH")[-1][2]["spec"]["leaseDurationSeconds"] == 120


def test_a_failed_renewal_is_tried_again_at_the_next_cycle(api: FakeApiServer, token_file: Path) -> None:
    client = make_client(KubeTarget(api_server=api.url, token_file=str(token_file)), 2)
    beat = Heartbeat(client, "n1", "gpu-node-agent", 120, Backoff(max_attempts=1))
    start = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)
    beat.beat(start)
    api.fail_next("PATCH", 403)
    with pytest.raises(Exception):
        beat.beat(start + timedelta(seconds=30))
    assert beat.beat(start + timedelta(seconds=45)), "due since 30 s: renewed at the next cycle"


def _kubeconfig(tmp_path: Path, server: str, user: dict[str, object]) -> Path:
    path = tmp_path / "kubeconfig"
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": server}}],
        "users": [{"name": "u", "user": user}],
        "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "x",
    }
    path.write_text(json.dumps(config))  # JSON is YAML
    return path


def test_a_kubeconfig_with_a_token_reaches_the_server(api: FakeApiServer, tmp_path: Path) -> None:
    client = make_client(KubeTarget(kubeconfig=str(_kubeconfig(tmp_path, api.url, {"token": "token-1"}))), 2)
    assert NodeLabeler(client, "n1", OWNS, FAST).sync({f"{P}gpu.health": "ok"})
    assert {r[3] for r in api.requests} == {"Bearer token-1"}


def test_a_kubeconfig_exec_plugin_is_run_again_when_its_token_expires(api: FakeApiServer, tmp_path: Path) -> None:
    """The plugin prints an ExecCredential (as `aws eks get-token` does); a 401 runs it again."""
    token = tmp_path / "current"
    token.write_text("token-1")
    # Python, not sh: these tests also run inside the agent's distroless image, which has no shell.
    script = ("import json, sys; print(json.dumps({'apiVersion': 'client.authentication.k8s.io/v1beta1', "
              f"'status': {{'token': open({str(token)!r}).read()}}}}))")
    plugin = {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": sys.executable, "args": ["-c", script]}
    kubeconfig = _kubeconfig(tmp_path, api.url, {"exec": plugin})
    writer = NodeLabeler(make_client(KubeTarget(kubeconfig=str(kubeconfig)), 2), "n1", OWNS, FAST)
    assert writer.sync({f"{P}gpu.health": "ok"})
    token.write_text("token-2")
    api.tokens = {"token-2"}
    assert writer.sync({f"{P}gpu.health": "degraded"})
    assert [r[3] for r in api.requests][-3:] == ["Bearer token-1", "Bearer token-2", "Bearer token-2"]


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command to make a certificate")
def test_in_cluster_the_service_account_and_its_ca_reach_the_server_over_tls(tmp_path: Path) -> None:
    """The DaemonSet's path: the service's host and port from the environment, the projected token, and TLS
    verified against the service account's ca.crt (here a self-signed certificate for 127.0.0.1)."""
    account = tmp_path / "serviceaccount"
    account.mkdir()
    (account / "token").write_text("token-1")
    key = tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(account / "ca.crt"), "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )
    with FakeApiServer(tls=(str(account / "ca.crt"), str(key))) as api:
        api.add_node("n1", {})
        env = {"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": api.url.rsplit(":", 1)[1]}
        client = make_client(KubeTarget(), 2, env=env, service_account=account)
        assert NodeLabeler(client, "n1", OWNS, FAST).sync({f"{P}gpu.health": "ok"})
        assert api.nodes["n1"]["metadata"]["labels"] == {f"{P}gpu.health": "ok"}
        client.close()
        # and a server whose certificate the CA did not sign is refused, not trusted
        other = make_client(KubeTarget(api_server=api.url, token_file=str(account / "token")), 2)
        with pytest.raises(TransportError, match="CERTIFICATE_VERIFY_FAILED"):
            NodeLabeler(other, "n1", OWNS, Backoff(max_attempts=1)).sync({f"{P}gpu.health": "degraded"})


def test_in_cluster_without_the_service_environment_says_so(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="KUBERNETES_SERVICE_HOST"):
        make_client(KubeTarget(), env={}, service_account=tmp_path)


def test_the_writing_agent_loads_no_lightkube_or_httpx() -> None:
    """The agent's writes go over http.client: lightkube, its HTTP stack and its models stay out of its memory."""
    code = (
        "import sys, gpu_node_agent.cli, gpu_node_agent.daemon\n"
        "from gpu_node_agent.kubeclient import KubeTarget, make_client\n"
        "make_client(KubeTarget(api_server='https://127.0.0.1:6443', token_file='/t'))\n"
        "heavy = {'lightkube', 'httpx2', 'httpcore2', 'anyio', 'msgspec'}\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
