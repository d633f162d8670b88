"""Who reaches a private API endpoint, as EC2 requests: a security group for the control plane's network
interfaces and one port-443 ingress rule per admitted CIDR or security group.

The group is our own, passed to the cluster in `vpc_config.security_group_ids` (terraform-aws-eks' additional
cluster security group), not rules on the security group EKS creates: EKS gives that one to managed nodes too, and
with the VPC CNI pods carry their node's groups, so a rule there would open 443 on every node and pod as well.
The group exists on every new cluster, with or without rules, so adding the first rule later changes no cluster
setting.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from ..config.cluster import EksClusterConfig

__all__ = ["API_PORT", "endpoint_ingress_requests", "endpoint_security_group_request"]

API_PORT = 443


def endpoint_security_group_request(config: EksClusterConfig, vpc_id: str) -> dict[str, Any]:
    """EC2 CreateSecurityGroup for the group on the control plane's network interfaces."""
    return {
        "GroupName": f"{config.name}-endpoint-access",
        "Description": f"Who may reach the API endpoint of EKS cluster {config.name} on port {API_PORT}",
        "VpcId": vpc_id,
    }


def endpoint_ingress_requests(config: EksClusterConfig, group_id: str) -> list[dict[str, Any]]:
    """One EC2 AuthorizeSecurityGroupIngress per admitted source (a rule each, so one can go without the others)."""
    return [
        {"GroupId": group_id, "IpPermissions": [{**_port(), **source}]}
        for source in [*map(_cidr_source, config.private_access_cidrs),
                       *map(_group_source, config.private_access_security_group_ids)]
    ]


def _port() -> dict[str, Any]:
    return {"IpProtocol": "tcp", "FromPort": API_PORT, "ToPort": API_PORT}


def _cidr_source(cidr: str) -> dict[str, Any]:
    description = "Kubernetes API from this network"
    if ipaddress.ip_network(cidr).version == 6:
        return {"Ipv6Ranges": [{"CidrIpv6": cidr, "Description": description}]}
    return {"IpRanges": [{"CidrIp": cidr, "Description": description}]}


def _group_source(group_id: str) -> dict[str, Any]:
    return {"UserIdGroupPairs": [{"GroupId": group_id, "Description": "Kubernetes API from this security group"}]}
