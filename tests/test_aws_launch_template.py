"""Launch templates: IMDSv2, the data volume per AMI family, tags, Capacity Blocks, Bottlerocket user data."""

import base64
import tomllib

import pytest
from ec2_model import ec2_problems

from gpu_node_pools.aws.launch_template import launch_template_data
from gpu_node_pools.config.node_pool import NodePoolConfig

SETTINGS = {"settings": {"nvidia-container-runtime": {"visible-devices-envvar-when-unprivileged": True}}}
RESERVATION = "cr-02168da1478b509e0"


def pool(**overrides) -> NodePoolConfig:
    values = {"name": "gpu", "kind": "gpu", "instanceTypes": ["g5.xlarge"], "scaling": {"min": 0, "max": 2}}
    return NodePoolConfig.model_validate({**values, **overrides})


def general(**overrides) -> NodePoolConfig:
    return pool(**{"name": "general", "kind": "general", "instanceTypes": ["m6i.large"], **overrides})


ALL_FAMILIES = [
    pool(),
    pool(amiType="BOTTLEROCKET_x86_64_NVIDIA"),
    general(),
    general(amiType="BOTTLEROCKET_x86_64"),
    pool(instanceTypes=["p5.48xlarge"], capacityType="CAPACITY_BLOCK", capacityReservationId=RESERVATION),
    pool(instanceTypes=["p5.48xlarge"], sharing={"mig": {"strategy": "mixed", "layout": "3g.40gb,4g.40gb"}}),
]


@pytest.mark.parametrize("p", ALL_FAMILIES,
                         ids=lambda p: f"{p.ami().name}-{p.capacity_type}" + ("-mig" if p.sharing else ""))
def test_every_template_is_a_valid_ec2_request_with_imdsv2_only_and_hop_limit_1(p: NodePoolConfig) -> None:
    data = launch_template_data(p, bottlerocket_settings=SETTINGS)
    imds = {"HttpTokens": "required", "HttpPutResponseHopLimit": 1, "HttpEndpoint": "enabled"}
    assert data["MetadataOptions"] == imds
    assert ec2_problems("CreateLaunchTemplate", {"LaunchTemplateName": "t", "LaunchTemplateData": data}) == []


@pytest.mark.parametrize(
    ("p", "expected"),
    [
        (pool(), [("/dev/xvda", 100)]),
        (general(), [("/dev/xvda", 50)]),
        (pool(diskSize=300), [("/dev/xvda", 300)]),
        # Bottlerocket: the OS volume keeps its image's size; the data volume gets the pool's.
        (pool(amiType="BOTTLEROCKET_x86_64_NVIDIA"), [("/dev/xvda", None), ("/dev/xvdb", 100)]),
        (general(amiType="BOTTLEROCKET_ARM_64", instanceTypes=["m7g.large"], diskSize=80),
         [("/dev/xvda", None), ("/dev/xvdb", 80)]),
    ],
    ids=["al2023-gpu", "al2023-general", "al2023-sized", "bottlerocket-gpu", "bottlerocket-sized"],
)
def test_volumes_are_gp3_encrypted_and_the_data_volume_has_the_pool_size(
    p: NodePoolConfig, expected: list[tuple[str, int | None]]
) -> None:
    mappings = launch_template_data(p)["BlockDeviceMappings"]
    assert [(m["DeviceName"], m["Ebs"].get("VolumeSize")) for m in mappings] == expected
    for mapping in mappings:
        assert mapping["Ebs"]["VolumeType"] == "gp3" and mapping["Ebs"]["Encrypted"] is True


def test_instances_and_volumes_carry_the_pool_identity_and_instance_tags() -> None:
    data = launch_template_data(pool(instanceTags={"team": "ml", "cost-center": "42"}, tags={"only": "node-group"}))
    expected = [
        {"Key": "gpu-node-pools.io/pool", "Value": "gpu"},
        {"Key": "gpu-node-pools.io/pool-kind", "Value": "gpu"},
        {"Key": "team", "Value": "ml"},
        {"Key": "cost-center", "Value": "42"},
    ]
    assert data["TagSpecifications"] == [
        {"ResourceType": "instance", "Tags": expected},
        {"ResourceType": "volume", "Tags": expected},
    ]


@pytest.mark.parametrize(
    ("p", "targets_reservation"),
    [
        (pool(instanceTypes=["p5.48xlarge"], capacityType="CAPACITY_BLOCK", capacityReservationId=RESERVATION), True),
        (pool(capacityType="SPOT"), False),
        (pool(), False),
    ],
    ids=["capacity-block", "spot", "on-demand"],
)
def test_capacity_block_pools_launch_into_their_reservation(p: NodePoolConfig, targets_reservation: bool) -> None:
    data = launch_template_data(p)
    if targets_reservation:
        assert data["InstanceMarketOptions"] == {"MarketType": "capacity-block"}
        assert data["CapacityReservationSpecification"] == {
            "CapacityReservationTarget": {"CapacityReservationId": RESERVATION}
        }
    else:  # spot is the node group's capacityType; EKS refuses spot market options in the template
        assert "InstanceMarketOptions" not in data and "CapacityReservationSpecification" not in data


@pytest.mark.parametrize(
    ("p", "settings", "has_user_data"),
    [
        (pool(amiType="BOTTLEROCKET_x86_64_NVIDIA"), SETTINGS, True),
        (pool(amiType="BOTTLEROCKET_x86_64_NVIDIA"), {}, False),
        # Other images don't know Bottlerocket settings (AL2023 user data isn't even TOML).
        (pool(), SETTINGS, False),
        (general(amiType="BOTTLEROCKET_x86_64"), SETTINGS, False),
    ],
    ids=["bottlerocket-nvidia", "bottlerocket-nvidia-nothing-to-set", "al2023-nvidia", "bottlerocket-standard"],
)
def test_only_bottlerocket_nvidia_pools_get_the_settings_as_toml_user_data(
    p: NodePoolConfig, settings: dict, has_user_data: bool
) -> None:
    data = launch_template_data(p, bottlerocket_settings=settings)
    assert ("UserData" in data) is has_user_data
    if has_user_data:
        assert tomllib.loads(base64.b64decode(data["UserData"]).decode()) == settings
