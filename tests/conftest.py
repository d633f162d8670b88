"""The test tiers: what a test needs is a marker (declared in pyproject.toml), and one hook here skips a tier when
its switch asks for it. Unmarked tests are pure: they run everywhere, `make check` included.

Shared by every tier: the local cluster's fixtures (gnp_cluster, registered once for the cluster and the engine
tests alike) and the three stack programs run once under Pulumi's mocks.
"""

from __future__ import annotations

import os
from itertools import zip_longest

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
    items[:] = _in_run_order(items)
    for item in items:
        item.add_marker(pytest.mark.xdist_group(_worker_group(item)))
    for item in items:
        skipped = [(switch, need) for marker, (switch, need) in TIERS.items()
                   if item.get_closest_marker(marker) and os.environ.get(switch) == "1"]
        if skipped:
            switches = ", ".join(sorted({f"{switch}=1" for switch, _ in skipped}))
            item.add_marker(pytest.mark.skip(reason=f"{switches}: needs {' and '.join(n for _, n in skipped)}"))


def _in_run_order(items: list[pytest.Item]) -> list[pytest.Item]:
    """The engine tests first, since the engine deploys the local stack's layer onto a fresh cluster and the
    `local_layer` tests apply the same objects with kubectl. The cluster tests that never apply the layer (the
    Karpenter proofs, mostly waiting on Karpenter) alternate with the engine tests (mostly busy on a core), so the
    workers aren't all busy or all waiting at once; then everything else, in collection order. Decided per worker
    group: a group runs where its first test is placed, so one layer test makes its whole group late."""
    def early(item: pytest.Item) -> bool:
        return bool(item.get_closest_marker("pulumi")) or (
            bool(item.get_closest_marker("cluster")) and "local_layer" not in getattr(item, "fixturenames", ()))

    late_groups = {_worker_group(item) for item in items if not early(item)}
    first = [item for item in items if _worker_group(item) not in late_groups]
    engine = [item for item in first if item.get_closest_marker("pulumi")]
    waiting = [item for item in first if not item.get_closest_marker("pulumi")]
    alternating = [item for pair in zip_longest(engine, waiting) for item in pair if item is not None]
    return alternating + [item for item in items if _worker_group(item) in late_groups]


def _worker_group(item: pytest.Item) -> str:
    """What must run in one process under pytest-xdist (`make test` runs three, each with its own cluster): the whole
    image tier (one image build per session); a module whose tests share its fixtures or run in order (the stack
    lifecycle's steps); any other cluster or engine test is a group of its own, so the long Karpenter,
    observability and engine proofs spread over the workers."""
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
