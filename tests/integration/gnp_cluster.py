"""The local cluster (scripts/cluster.sh) as session fixtures, and helpers for tests that run on it.

Tests marked `cluster` run against real kube-apiserver/scheduler/controller-manager binaries with kwok nodes.
They are skipped only when GNP_SKIP_CLUSTER=1 (tests/conftest.py, which registers these fixtures); otherwise a
missing toolchain is built, and a failure to build or start is an error, never a silent skip.
"""

from __future__ import annotations

import functools
import os
import shlex
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml
from kubernetes import client, config

ROOT = Path(__file__).resolve().parents[2]
CLUSTER_SH = ROOT / "scripts" / "cluster.sh"
# The test session's own cluster (kubeconfig, kwokctl's state): never the one `make up` runs in .state/, so a
# deployed local stack neither disturbs the tests nor is disturbed by them. GNP_TEST_STATE moves it. Under
# pytest-xdist every worker runs its own cluster (`make test` runs two side by side).
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
STATE = Path(os.environ.get("GNP_TEST_STATE", ROOT / ".state" / "test")) / _WORKER
CLUSTER_ENV = {**os.environ, "GNP_STATE": str(STATE)}
# A project folder as `make image` leaves it (the repo's stacks, a made-up image in build/image): the local
# stack's nodeAgent.imageBuild reads its image there, so no test needs `make image`.
PROJECT_WITH_IMAGE = ROOT / "tests" / "data" / "project-with-image"

T = TypeVar("T")


def announce(config: pytest.Config, message: str) -> None:
    """One progress line on the terminal for a long phase, shown even while pytest captures output."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        return
    capture = config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture else nullcontext():
        reporter.write_line(f"[{time.strftime('%H:%M:%S')}] {message}")


@functools.cache
def controlplane_binaries() -> dict[str, str]:
    """GNP_* variable -> path of every control-plane binary, kubectl included (tools/controlplane/build.sh, which
    builds what the cache lacks)."""
    proc = subprocess.run([str(ROOT / "tools" / "controlplane" / "build.sh")], capture_output=True, text=True)
    if proc.returncode != 0:
        raise AssertionError(f"tools/controlplane/build.sh failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    pairs = (line.removeprefix("export ").split("=", 1) for line in proc.stdout.splitlines() if "=" in line)
    return {name: shlex.split(value)[0] for name, value in pairs}


def kubectl_path() -> str:
    """The kubectl built at the control plane's version (never a host kubectl of another version)."""
    return controlplane_binaries()["GNP_KUBECTL"]


def wait_for(check: Callable[[], T | None], timeout: float, what: str, interval: float = 0.5) -> T:
    """Polls `check` until it returns something truthy; fails with `what` and the last value after `timeout`."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")


@dataclass(frozen=True)
class LocalCluster:
    """Handle on the running local cluster."""

    kubeconfig: Path

    def kubectl(self, *args: str, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = [kubectl_path(), "--kubeconfig", str(self.kubeconfig), *args]
        proc = subprocess.run(cmd, input=input, capture_output=True, text=True, timeout=300)
        if check and proc.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr}")
        return proc

    def apply(self, manifest: str | list[dict[str, Any]], field_manager: str = "gnp-tests", force: bool = False) -> list[str]:
        """Server-side applies a manifest; returns the API server's warnings (failing if it rejects any object).

        `force` takes over fields another manager set (on a cluster someone else also applied the layer to).
        """
        text = manifest if isinstance(manifest, str) else yaml.safe_dump_all(manifest)
        args = ["apply", "--server-side", f"--field-manager={field_manager}", *(["--force-conflicts"] * force)]
        proc = self.kubectl(*args, "-f", "-", input=text)
        return [line for line in proc.stderr.splitlines() if line.startswith("Warning:")]

    def api(self) -> client.ApiClient:
        return config.new_client_from_config(config_file=str(self.kubeconfig))

    def core(self) -> client.CoreV1Api:
        return client.CoreV1Api(self.api())

    def nodes(self, label_selector: str = "") -> list[client.V1Node]:
        return self.core().list_node(label_selector=label_selector).items

    def namespace(self, prefix: str = "t", labels: dict[str, str] | None = None) -> str:
        """Creates a uniquely named namespace; the caller deletes it (see the `namespace` fixture)."""
        name = f"{prefix}-{uuid.uuid4().hex[:8]}"
        body = client.V1Namespace(metadata=client.V1ObjectMeta(name=name, labels=labels or {}))
        self.core().create_namespace(body)
        return name

    def pods(self, namespace: str, label_selector: str = "") -> list[client.V1Pod]:
        return self.core().list_namespaced_pod(namespace, label_selector=label_selector).items

    def pod_bound_token(self, pod: client.V1Pod, account: str, seconds: int = 3600) -> str:
        """A TokenRequest token for `account` bound to `pod`: the API server adds the pod's node to its user info."""
        ref = {"apiVersion": "v1", "kind": "Pod", "name": pod.metadata.name, "uid": pod.metadata.uid}
        request = {"spec": {"audiences": [], "expirationSeconds": seconds, "boundObjectRef": ref}}
        return self.core().create_namespaced_service_account_token(account, pod.metadata.namespace, request).status.token

    def as_token(self, token: str) -> client.ApiClient:
        """A client for this cluster that authenticates with `token` only."""
        configuration = client.Configuration()
        config.load_kube_config(config_file=str(self.kubeconfig), client_configuration=configuration)
        configuration.cert_file = configuration.key_file = None
        configuration.api_key = {"authorization": f"Bearer {token}"}
        return client.ApiClient(configuration)

    def server(self) -> tuple[str, str]:
        """(API server URL, CA bundle path)."""
        configuration = client.Configuration()
        config.load_kube_config(config_file=str(self.kubeconfig), client_configuration=configuration)
        return configuration.host, configuration.ssl_ca_cert


def cluster_sh(*args: str) -> None:
    proc = subprocess.run([str(CLUSTER_SH), *args], capture_output=True, text=True, env=CLUSTER_ENV)
    if proc.returncode != 0:
        raise AssertionError(f"scripts/cluster.sh {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")


def _cluster_running() -> bool:
    return subprocess.run([str(CLUSTER_SH), "status"], capture_output=True, env=CLUSTER_ENV).returncode == 0


@pytest.fixture(scope="session")
def local_cluster(pytestconfig: pytest.Config) -> Iterator[LocalCluster]:
    """The local cluster with the local stack's simulated nodes; started (and at the end stopped) if not running."""
    started_here = not _cluster_running()
    announce(pytestconfig, "local cluster: " + ("starting it (real control plane, kwok nodes, metrics-server)"
                                                if started_here else "using the one already running"))
    # Builds the control plane when it is not cached yet; its progress shows in the test output on failure.
    up = subprocess.run([str(CLUSTER_SH), "up"], capture_output=True, text=True, env=CLUSTER_ENV)
    if up.returncode != 0:
        pytest.fail(f"scripts/cluster.sh up failed ({up.returncode}):\n{up.stderr[-4000:]}", pytrace=False)
    try:
        yield LocalCluster(kubeconfig=STATE / "kubeconfig")
    finally:
        if started_here:
            announce(pytestconfig, "local cluster: stopping it")
            subprocess.run([str(CLUSTER_SH), "down"], capture_output=True, env=CLUSTER_ENV)


@pytest.fixture
def namespace(local_cluster: LocalCluster) -> Iterator[str]:
    """A fresh namespace for one test, deleted afterwards. Its pods are deleted at once and only they are waited
    for (so they free their nodes for the next test); the namespace controller finishes the rest meanwhile."""
    core = local_cluster.core()
    name = local_cluster.namespace()
    yield name
    # The namespace first: once it is terminating, no controller can create a pod in it again.
    core.delete_namespace(name, grace_period_seconds=0)
    core.delete_collection_namespaced_pod(name, grace_period_seconds=0)
    wait_for(lambda: not core.list_namespaced_pod(name).items, 120, f"namespace {name}'s pods gone")


def render_stack(stack: str = "local") -> list[dict[str, Any]]:
    """The stack's in-cluster layer exactly as `gpu-node-pools render` prints it."""
    cli = Path(sys.executable).parent / "gpu-node-pools"
    proc = subprocess.run([str(cli), "--project-dir", str(PROJECT_WITH_IMAGE), "render", "--stack", stack],
                          capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        raise AssertionError(f"gpu-node-pools render --stack {stack} failed:\n{proc.stderr}")
    return [doc for doc in yaml.safe_load_all(proc.stdout) if doc]


@dataclass(frozen=True)
class AppliedLayer:
    objects: list[dict[str, Any]]
    warnings: list[str]

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [o for o in self.objects if o["kind"] == kind]


@pytest.fixture(scope="session")
def local_layer(pytestconfig: pytest.Config, local_cluster: LocalCluster) -> AppliedLayer:
    """The local stack's rendered layer, server-side applied once for the session."""
    announce(pytestconfig, "local cluster: applying the local stack's layer for the isolation proofs")
    objects = render_stack("local")
    warnings = local_cluster.apply(objects, field_manager="gnp-layer", force=True)
    return AppliedLayer(objects=objects, warnings=warnings)
