"""Who may reach a new cluster's API endpoint: the public endpoint's CIDRs and the private endpoint's sources.

`pulumi up` talks to the cluster right after creating it, so an endpoint nobody can reach fails only after the
cluster exists (about fifteen minutes in). The rules here refuse that before anything runs: a private-only
endpoint names who may reach it on 443, and a public endpoint names its CIDRs (never an implicit 0.0.0.0/0).
"""

from __future__ import annotations

import ipaddress
import re
from typing import Protocol

__all__ = ["endpoint_problems", "security_group_id_problem", "cidr_problem"]

_SECURITY_GROUP_ID = re.compile(r"^sg-[0-9a-f]{8}([0-9a-f]{9})?$")


class EndpointSettings(Protocol):
    endpoint_public_access: bool
    endpoint_private_access: bool
    public_access_cidrs: list[str] | None
    private_access_cidrs: list[str]
    private_access_security_group_ids: list[str]


def cidr_problem(cidr: str) -> str | None:
    """Why `cidr` is not a network in CIDR notation (host bits set included: a typo more often than not)."""
    try:
        ipaddress.ip_network(cidr, strict=True)
    except ValueError as error:
        return f"{cidr!r} is not a CIDR block ({error})"
    return None


def security_group_id_problem(group_id: str) -> str | None:
    if not _SECURITY_GROUP_ID.match(group_id):
        return f"{group_id!r} is not a security group id (sg- and 8 or 17 hex digits)"
    return None


def endpoint_problems(config: EndpointSettings) -> list[tuple[tuple[str, ...], str]]:
    """Each cross-key problem of the endpoint settings, at the key to change."""
    problems: list[tuple[tuple[str, ...], str]] = []
    private_sources = [*config.private_access_cidrs, *config.private_access_security_group_ids]
    if not config.endpoint_public_access and not config.endpoint_private_access:
        problems.append((("endpointPrivateAccess",), "the API endpoint would be reachable from nowhere: "
                         "endpointPublicAccess and endpointPrivateAccess are both false"))
    if config.endpoint_public_access and config.public_access_cidrs is None:
        problems.append((("publicAccessCidrs",), "a public API endpoint needs the CIDRs that may reach it (e.g. "
                         "your office or VPN egress range); write 0.0.0.0/0 to open it to the internet on purpose, "
                         "or set endpointPublicAccess: false"))
    if not config.endpoint_public_access and config.public_access_cidrs is not None:
        problems.append((("publicAccessCidrs",), "given, but endpointPublicAccess is false: there is no public "
                         "endpoint to open"))
    if config.endpoint_private_access and not config.endpoint_public_access and not private_sources:
        problems.append((("privateAccessCidrs",), "the API endpoint is private only, so name who may reach it on "
                         "port 443 (privateAccessCidrs: the network Pulumi runs from, e.g. a VPN or CI runner range; "
                         "or privateAccessSecurityGroupIds: a bastion's or runner's security group); otherwise "
                         "`pulumi up` creates the cluster and then times out on its first Kubernetes object"))
    if private_sources and not config.endpoint_private_access:
        key = "privateAccessCidrs" if config.private_access_cidrs else "privateAccessSecurityGroupIds"
        problems.append(((key,), "given, but endpointPrivateAccess is false: there is no private endpoint to open"))
    return problems
