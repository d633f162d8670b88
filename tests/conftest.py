"""The test tiers: what a test needs is a marker (declared in pyproject.toml), and one hook here skips a tier when
its switch asks for it. Unmarked tests are pure: they run everywhere, `make check` included.

Shared by every tier: the local cluster's fixtures (gnp_cluster, registered once for the cluster and the engine
tests alike) and the three stack programs run once under Pulumi's mocks.
"""

from __future__ import annotations

import os

import pytest
from gpu_node_pools.mock_engine import DeclaredResource
from pulumi_harness import fake_aws_credentials, run_program

pytest_plugins = ["gnp_cluster"]

# marker -> (the switch that skips it, what a test so marked needs)
TIERS = {
    "cluster": ("GNP_SKIP_CLUSTER", "the local control plane"),
    "pulumi": ("GNP_SKIP_CLUSTER", "the Pulumi CLI and Kubernetes provider built from Go modules"),
    "toolchain": ("GNP_SKIP_CLUSTER", "the Go toolchain or what it builds (promtool, the module cache)"),
    "image": ("GNP_SKIP_IMAGE", "the node agent's image, built with apt, crane and syft"),
    "network": ("GNP_SKIP_NETWORK", "a package registry or the Go module proxy"),
    "browser": ("GNP_SKIP_BROWSER", "a headless Chromium (Debian's chromium)"),
}
# Fixtures that stand for a tier: a test that uses one must carry its marker, so `-m` and the switches see the need.
FIXTURE_TIERS = {"local_cluster": "cluster", "toolchain_path": "pulumi"}


# First: pytest-xdist's own hook reads the xdist_group marks set here.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    unmarked = [f"{item.nodeid} uses the fixture {fixture} but is not marked {marker}"
                for item in items for fixture, marker in FIXTURE_TIERS.items()
                if fixture in getattr(item, "fixturenames", ()) and item.get_closest_marker(marker) is None]
    if unmarked:
        raise pytest.UsageError("\n".join(unmarked))
    # The engine deploys onto the fresh cluster before the cluster tests apply the same objects with kubectl.
    items.sort(key=lambda item: item.get_closest_marker("pulumi") is None)
    for item in items:
        item.add_marker(pytest.mark.xdist_group(_worker_group(item)))
    for item in items:
        skipped = [(switch, need) for marker, (switch, need) in TIERS.items()
                   if item.get_closest_marker(marker) and os.environ.get(switch) == "1"]
        if skipped:
            switches = ", ".join(sorted({f"{switch}=1" for switch, _ in skipped}))
            item.add_marker(pytest.mark.skip(reason=f"{switches}: needs {' and '.join(n for _, n in skipped)}"))


def _worker_group(item: pytest.Item) -> str:
    """What must run in one process under pytest-xdist (`make test` runs two, each with its own cluster): the whole
    image tier (one image build per session); a module whose tests share its fixtures or run in order (the stack
    lifecycle's steps); any other cluster or engine test is a group of its own, so the long Karpenter,
    observability and engine proofs spread over both clusters."""
    if item.get_closest_marker("image"):
        return "image"
    module = item.nodeid.split("::", 1)[0]
    fixtures = getattr(item, "_fixtureinfo", None)
    shares_a_module_fixture = fixtures is None or any(
        defs[-1].scope in ("module", "package", "class") for defs in fixtures.name2fixturedefs.values())
    if (item.get_closest_marker("cluster") or item.get_closest_marker("pulumi")) and not shares_a_module_fixture:
        return item.nodeid
    return module


@pytest.fixture(scope="session")
def stacks() -> dict[str, list[DeclaredResource]]:
    """What each stack program (dev, prod, local) declares under Pulumi's mocks, in declaration order.

    Run once per session; tests only read it."""
    with pytest.MonkeyPatch.context() as env:
        fake_aws_credentials(env)
        return {stack: run_program(stack) for stack in ("dev", "prod", "local")}
