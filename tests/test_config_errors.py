"""Bad stack config fails with one clear message naming the stack file and the key, before anything runs."""

from pathlib import Path

import pytest
import yaml

from gpu_node_pools import script_commands
from gpu_node_pools.cli import main

GOOD_POOLS = [
    {"name": "general", "kind": "general", "instanceTypes": ["m6i.large"], "scaling": {"min": 1, "max": 2}},
    {"name": "gpu", "kind": "gpu", "instanceTypes": ["g5.xlarge"], "scaling": {"min": 0, "max": 2}},
]


EKS_CLUSTER = {"mode": "eks", "name": "gpu", "subnetIds": ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"],
               "publicAccessCidrs": ["203.0.113.0/24"]}


def with_pool(index: int, **changes) -> dict:
    pools = [dict(p) for p in GOOD_POOLS]
    pools[index].update(changes)
    return {"gpu-node-pools:nodePools": pools}


CASES = [
    ("unknown top-level key", {"gpu-node-pools:nodepools": []}, "gpu-node-pools:nodepools", "unknown key"),
    ("unknown nested key", with_pool(0, instanceType="m6i.large"), "gpu-node-pools:nodePools[0].instanceType",
     "unknown key"),
    ("taint effect", {"gpu-node-pools:isolation": {"gpuTaint": {"key": "nvidia.com/gpu", "effect": "NoScheduleX"}}},
     "gpu-node-pools:isolation.gpuTaint.effect", "'NoScheduleX' is not allowed"),
    ("min > max", with_pool(1, scaling={"min": 3, "max": 2}), "gpu-node-pools:nodePools[1].scaling",
     "min (3) is greater than max (2)"),
    ("desired outside range", with_pool(1, scaling={"min": 0, "max": 2, "desired": 5}),
     "gpu-node-pools:nodePools[1].scaling", "desired (5) is outside [min, max] = [0, 2]"),
    ("invalid label key", with_pool(0, labels={"team/": "ml"}), "gpu-node-pools:nodePools[0].labels",
     "label key 'team/'"),
    ("invalid label value", with_pool(0, labels={"team": "-ml-"}), "gpu-node-pools:nodePools[0].labels",
     "label value '-ml-'"),
    ("reserved label prefix", with_pool(0, labels={"kubernetes.io/role": "x"}), "gpu-node-pools:nodePools[0].labels",
     "reserved"),
    ("empty instance types", with_pool(1, instanceTypes=[]), "gpu-node-pools:nodePools[1].instanceTypes",
     "at least 1 item"),
    ("GPU pool with a non-GPU AMI", with_pool(1, amiType="AL2023_x86_64_STANDARD"), "gpu-node-pools:nodePools[1]",
     "needs an NVIDIA AMI type"),
    ("AL2 AMI", with_pool(1, amiType="AL2_x86_64_GPU"), "gpu-node-pools:nodePools[1].amiType",
     "end of support"),
    ("GPU pool of CPU instances", with_pool(1, instanceTypes=["m6i.large"]), "gpu-node-pools:nodePools[1]",
     "has no GPU"),
    ("duplicate pool names", {"gpu-node-pools:nodePools": [GOOD_POOLS[0], GOOD_POOLS[0]]}, "",
     "duplicate node pool names: general"),
    ("negative min", with_pool(1, scaling={"min": -1, "max": 2}), "gpu-node-pools:nodePools[1].scaling.min",
     "greater than or equal to 0"),
    ("capacity block without reservation", with_pool(1, capacityType="CAPACITY_BLOCK"),
     "gpu-node-pools:nodePools[1].capacityReservationId", "capacityType CAPACITY_BLOCK needs its reservation"),
    ("reservation without capacity block", with_pool(1, capacityReservationId="cr-02168da1478b509e0"),
     "gpu-node-pools:nodePools[1].capacityReservationId", "set only with capacityType CAPACITY_BLOCK, not ON_DEMAND"),
    ("capacity block of two instance types", with_pool(1, capacityType="CAPACITY_BLOCK", instanceTypes=[
        "p5.48xlarge", "p4d.24xlarge"], capacityReservationId="cr-02168da1478b509e0"),
     "gpu-node-pools:nodePools[1].instanceTypes", "reserves one instance type"),
    ("bad reservation id", with_pool(1, capacityType="CAPACITY_BLOCK", capacityReservationId="reservation-1"),
     "gpu-node-pools:nodePools[1].capacityReservationId", "not a capacity reservation id"),
    ("pool name too long for a name prefix", with_pool(1, name="g" * 37), "gpu-node-pools:nodePools[1].name",
     "not a valid pool name"),
    # No agent image is published, so none is made up (it would sit in ImagePullBackOff): the stack must name one.
    ("agent image missing on EKS", {"gpu-node-pools:cluster": EKS_CLUSTER, "gpu-node-pools:nodeAgent": {}},
     "gpu-node-pools:nodeAgent.image", "required while the node agent is enabled"),
    ("agent image missing on an existing cluster", {"gpu-node-pools:nodeAgent": {"port": 9402}},
     "gpu-node-pools:nodeAgent.image", "build it (`make image`), push it"),
    ("agent push target with a tag",
     {"gpu-node-pools:nodeAgent": {"image": "r.example.com/a:1", "pushRepository": "r.example.com/a:1"}},
     "gpu-node-pools:nodeAgent.pushRepository", "no tag or digest"),
    ("agent push target without a registry",
     {"gpu-node-pools:nodeAgent": {"image": "team/agent:1", "pushRepository": "team/agent"}},
     "gpu-node-pools:nodeAgent.pushRepository", "names no registry host"),
    ("agent image outside its push target",
     {"gpu-node-pools:nodeAgent": {"image": "r.example.com/other:1", "pushRepository": "r.example.com/agent"}},
     "gpu-node-pools:nodeAgent", "is not in pushRepository 'r.example.com/agent'"),
    ("agent image not a reference", {"gpu-node-pools:nodeAgent": {"image": "registry.example.com/GPU-Agent:1"}},
     "gpu-node-pools:nodeAgent.image", "not an image reference"),
    ("agent image unpinned", {"gpu-node-pools:nodeAgent": {"image": "registry.example.com/agent"}},
     "gpu-node-pools:nodeAgent.image", "must be pinned"),
    # EKS nodes pull from a registry: a build folder on this machine is no image they can run.
    ("agent image build on EKS",
     {"gpu-node-pools:cluster": EKS_CLUSTER, "gpu-node-pools:nodeAgent": {"imageBuild": "build/image"}},
     "gpu-node-pools:nodeAgent.imageBuild", "EKS nodes pull the agent from a registry"),
    ("agent image and image build",
     {"gpu-node-pools:nodeAgent": {"image": "r.example.com/agent:1", "imageBuild": "build/image"}},
     "gpu-node-pools:nodeAgent", "set image or imageBuild, not both"),
    ("metrics-server digest without its image", {"gpu-node-pools:metricsServer": {"imageDigest": "sha256:" + "a" * 64}},
     "gpu-node-pools:metricsServer.imageDigest", "imageDigest needs image"),
]


def write_project(root: Path, extra: dict) -> None:
    (root / "Pulumi.yaml").write_text("name: gpu-node-pools\nruntime: python\n")
    (root / "stacks").mkdir()
    config = {
        "gpu-node-pools:cluster": {"mode": "existing", "kubeconfig": "kubeconfig"},
        "gpu-node-pools:nodePools": GOOD_POOLS,
        "gpu-node-pools:nodeAgent": {"image": "registry.example.com/gpu-node-agent:0.1.0"},
        **extra,
    }
    (root / "stacks" / "Pulumi.bad.yaml").write_text(yaml.safe_dump({"config": config}))


@pytest.mark.parametrize(("entry", "command"), [(main, "render"), (main, "pools"),
                                              (script_commands.main, "simulated-nodes")],
                         ids=["render", "pools", "simulated-nodes"])
@pytest.mark.parametrize(("case", "extra", "key", "message"), CASES, ids=[c[0] for c in CASES])
def test_bad_config_names_the_file_and_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], entry, command: str, case: str, extra: dict, key: str,
    message: str,
) -> None:
    write_project(tmp_path, extra)
    assert entry(["--project-dir", str(tmp_path), command, "--stack", "bad"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # nothing rendered
    error = captured.err
    assert error.startswith("error: stacks/Pulumi.bad.yaml: ")
    if key:
        assert f"{key}: " in error
    assert message in error


def test_good_config_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_project(tmp_path, {})
    assert main(["--project-dir", str(tmp_path), "pools", "--stack", "bad"]) == 0
    assert "general" in capsys.readouterr().out


@pytest.mark.parametrize("cluster", [None, EKS_CLUSTER], ids=["existing", "eks"])
def test_a_disabled_agent_needs_no_image(tmp_path: Path, capsys: pytest.CaptureFixture[str], cluster) -> None:
    extra = {"gpu-node-pools:nodeAgent": {"enabled": False}}
    if cluster:
        extra["gpu-node-pools:cluster"] = cluster
    write_project(tmp_path, extra)
    assert main(["--project-dir", str(tmp_path), "render", "--stack", "bad"]) == 0
    assert "gpu-node-agent" not in capsys.readouterr().out


def test_missing_stack_file_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_project(tmp_path, {})
    assert main(["--project-dir", str(tmp_path), "render", "--stack", "nope"]) == 2
    assert "stacks/Pulumi.nope.yaml: stack file not found" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("agent", "code", "out", "err"),
    [
        ({"image": "r.example.com:5000/team/agent:0.1.0", "pushRepository": "r.example.com:5000/team/agent"}, 0,
         "r.example.com:5000/team/agent\n", ""),
        ({"image": "localhost:5000/agent:0.1.0", "pushRepository": "localhost:5000/agent"}, 0,
         "localhost:5000/agent\n", ""),
        ({"image": "r.example.com/agent:0.1.0"}, 2, "", "gpu-node-pools:nodeAgent.pushRepository is not set"),
    ],
)
def test_image_push_target_prints_the_repository_or_names_the_missing_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], agent: dict, code: int, out: str, err: str
) -> None:
    write_project(tmp_path, {"gpu-node-pools:nodeAgent": agent})
    assert script_commands.main(["--project-dir", str(tmp_path), "image-push-target", "--stack", "bad"]) == code
    captured = capsys.readouterr()
    assert captured.out == out
    assert err in captured.err
    if err:
        assert captured.err.startswith("error: stacks/Pulumi.bad.yaml: ")
