"""`nodeAgent.podResources`: the real API server's Pod Security admission takes the agent's pod with its two named
exceptions (root, a read-only hostPath) in the namespace the manifests label, warns about them at `restricted`,
and would refuse it at any stricter enforce level, so `privileged` is the least that works. The same for the
`volume-mounts` device request (eks-auto), whose one exception is the read-only /dev/null hostPath."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from gnp_cluster import LocalCluster
from gpu_node_pools.config.node_agent import DeviceListStrategy, NodeAgentConfig
from gpu_node_pools.contract import IsolationContract
from gpu_node_pools.manifests.node_agent import build_node_agent

pytestmark = pytest.mark.cluster

IMAGE = "registry.example.com/gpu-node-agent:0.1.0"


def agent_objects(namespace: str, pod_resources: bool, device_list_strategy: DeviceListStrategy = "envvar"
                  ) -> list[dict[str, Any]]:
    config = NodeAgentConfig.model_validate({"image": IMAGE, "namespace": namespace, "podResources": pod_resources})
    return build_node_agent(config, IsolationContract(), device_list_strategy=device_list_strategy)


def agent_pod(objects: list[dict[str, Any]]) -> dict[str, Any]:
    """The DaemonSet's pod as its controller would create it (the pod is what Pod Security enforces on)."""
    (ds,) = [o for o in objects if o["kind"] == "DaemonSet"]
    meta = {"name": "gpu-node-agent-proof", "namespace": ds["metadata"]["namespace"]}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": ds["spec"]["template"]["spec"]}


def dry_run_create(cluster: LocalCluster, pod: dict[str, Any]) -> tuple[int, str]:
    """Server-side dry run: every admission plugin runs, nothing is stored or scheduled."""
    proc = cluster.kubectl("create", "--dry-run=server", "-f", "-", input=yaml.safe_dump(pod), check=False)
    return proc.returncode, proc.stderr


@pytest.fixture
def namespaces(local_cluster: LocalCluster) -> Iterator[list[str]]:
    """Namespaces this test creates, deleted afterwards. Not waited for: each test's name is its own and dry runs
    leave no pod behind."""
    created: list[str] = []
    yield created
    core = local_cluster.core()
    for name in created:
        core.delete_namespace(name, grace_period_seconds=0)


def prepare(cluster: LocalCluster, namespaces: list[str], objects: list[dict[str, Any]], enforce: str | None) -> None:
    """The agent's Namespace (its Pod Security labels, or `enforce` instead) and ServiceAccount."""
    (ns,) = [o for o in objects if o["kind"] == "Namespace"]
    if enforce is not None:
        ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] = enforce
    (account,) = [o for o in objects if o["kind"] == "ServiceAccount"]
    namespaces.append(ns["metadata"]["name"])
    cluster.apply([ns, account])


def test_the_enabled_agent_is_admitted_and_its_exceptions_are_warned(
    local_cluster: LocalCluster, namespaces: list[str]
) -> None:
    objects = agent_objects("gna-podres-ok", pod_resources=True)
    prepare(local_cluster, namespaces, objects, enforce=None)
    code, stderr = dry_run_create(local_cluster, agent_pod(objects))
    assert code == 0, stderr
    # warn stays restricted: whoever applies it is told, by name, what goes beyond restricted.
    assert 'violate PodSecurity "restricted:latest"' in stderr, stderr
    assert 'volume "pod-resources" uses restricted volume type "hostPath"' in stderr, stderr
    assert "runAsUser=0" in stderr and "runAsNonRoot != true" in stderr, stderr


def test_the_volume_mounts_agent_is_admitted_and_only_its_hostpath_is_warned(
    local_cluster: LocalCluster, namespaces: list[str]
) -> None:
    objects = agent_objects("gna-devmount-ok", pod_resources=False, device_list_strategy="volume-mounts")
    prepare(local_cluster, namespaces, objects, enforce=None)
    code, stderr = dry_run_create(local_cluster, agent_pod(objects))
    assert code == 0, stderr
    assert 'violate PodSecurity "restricted:latest"' in stderr, stderr
    assert 'volume "nvidia-device-request-0" uses restricted volume type "hostPath"' in stderr, stderr
    assert "runAsUser=0" not in stderr and "runAsNonRoot" not in stderr and "privileged" not in stderr, stderr


@pytest.mark.parametrize("strategy", ["envvar", "volume-mounts"])
@pytest.mark.parametrize("enforce", ["baseline", "restricted"])
def test_any_stricter_enforce_level_refuses_the_hostpath(
    local_cluster: LocalCluster, namespaces: list[str], enforce: str, strategy: DeviceListStrategy
) -> None:
    # envvar: the podResources hostPath; volume-mounts: the /dev/null one alone.
    objects = agent_objects(f"gna-{strategy[:3]}-{enforce}", pod_resources=strategy == "envvar",
                            device_list_strategy=strategy)
    prepare(local_cluster, namespaces, objects, enforce=enforce)
    code, stderr = dry_run_create(local_cluster, agent_pod(objects))
    assert code != 0 and "forbidden" in stderr and "hostPath" in stderr, stderr


def test_the_default_agent_still_meets_restricted(local_cluster: LocalCluster, namespaces: list[str]) -> None:
    objects = agent_objects("gna-podres-off", pod_resources=False)
    prepare(local_cluster, namespaces, objects, enforce=None)
    code, stderr = dry_run_create(local_cluster, agent_pod(objects))
    assert code == 0 and "violate PodSecurity" not in stderr, stderr
