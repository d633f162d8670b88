"""Who reaches the API endpoint: the EC2 requests for the control plane's own security group and its port-443 rules
are valid in botocore's EC2 model, one rule per admitted network or security group, and nothing else is opened."""

import pytest
from ec2_model import ec2_problems

from gpu_node_pools.aws.endpoint_access import endpoint_ingress_requests, endpoint_security_group_request
from gpu_node_pools.config.cluster import EksClusterConfig

BASE = {"mode": "eks", "name": "gpu", "subnetIds": ["subnet-a", "subnet-b"]}
GROUP = "sg-0123456789abcdef0"


def private(**sources: list[str]) -> EksClusterConfig:
    return EksClusterConfig.model_validate({**BASE, "endpointPublicAccess": False, **sources})


def test_the_security_group_request_is_valid() -> None:
    request = endpoint_security_group_request(private(privateAccessCidrs=["10.20.0.0/16"]), "vpc-0123456789abcdef0")
    assert ec2_problems("CreateSecurityGroup", request) == []
    assert request["VpcId"] == "vpc-0123456789abcdef0" and "gpu" in request["GroupName"]


@pytest.mark.parametrize(
    ("sources", "expected"),
    [
        ({"privateAccessCidrs": ["10.20.0.0/16"]},
         [{"IpRanges": [{"CidrIp": "10.20.0.0/16", "Description": "Kubernetes API from this network"}]}]),
        ({"privateAccessCidrs": ["fd00:10::/64"]},
         [{"Ipv6Ranges": [{"CidrIpv6": "fd00:10::/64", "Description": "Kubernetes API from this network"}]}]),
        ({"privateAccessSecurityGroupIds": ["sg-0c5d9e83b1a4f0001"]},
         [{"UserIdGroupPairs": [{"GroupId": "sg-0c5d9e83b1a4f0001",
                                 "Description": "Kubernetes API from this security group"}]}]),
        ({"privateAccessCidrs": ["10.20.0.0/16", "192.168.8.0/24"], "privateAccessSecurityGroupIds": ["sg-1234abcd"]},
         [{"IpRanges": [{"CidrIp": "10.20.0.0/16", "Description": "Kubernetes API from this network"}]},
          {"IpRanges": [{"CidrIp": "192.168.8.0/24", "Description": "Kubernetes API from this network"}]},
          {"UserIdGroupPairs": [{"GroupId": "sg-1234abcd", "Description": "Kubernetes API from this security group"}]}]),
    ],
)
def test_each_admitted_source_is_one_valid_rule_for_port_443_only(sources: dict, expected: list[dict]) -> None:
    requests = endpoint_ingress_requests(private(**sources), GROUP)
    for request in requests:
        assert ec2_problems("AuthorizeSecurityGroupIngress", request) == []
        assert request["GroupId"] == GROUP
    assert [r["IpPermissions"] for r in requests] == [
        [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, **source}] for source in expected
    ]


def test_a_public_endpoint_alone_opens_nothing_in_the_vpc() -> None:
    config = EksClusterConfig.model_validate({**BASE, "publicAccessCidrs": ["0.0.0.0/0"]})
    assert endpoint_ingress_requests(config, GROUP) == []
