"""Example values that a stack file may ship with but AWS must never see: documentation account ids, all-zero
image digests, example subnet, VPC and security group ids, documentation address ranges.

The shipped stacks keep them (so render, pools and plan work on a fresh clone); a deploy refuses them before any
resource exists, naming every key to fill and how, since AWS would take them and fail minutes later (access
entries) or leave pods in ImagePullBackOff (digests).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from typing import Any

from .platform import CONFIG_NAMESPACE, ConfigError, PlatformConfig

__all__ = ["placeholder_problems", "refuse_placeholders"]

# The account ids AWS documentation uses in examples.
EXAMPLE_ACCOUNT_IDS = ("111122223333", "123456789012", "444455556666", "777788889999")
_EXAMPLE_ACCOUNT = re.compile(rf"(?<!\d)(?:{'|'.join(EXAMPLE_ACCOUNT_IDS)})(?!\d)")
_ZERO_DIGEST = re.compile(r"sha256:0{64}")
_ZERO_DIGEST_IS = "an all-zero placeholder digest (it pulls nothing)"
# Resource ids written as examples: a counting or alternating hex run, as in this project's stacks and AWS docs.
_EXAMPLE_RESOURCE_ID = re.compile(
    r"^(subnet|vpc|sg)-(0a1b2c3d4e5f6|0f1e2d3c4b5a6|0123456789abcdef|1a2b3c4d|12345678|abcdef01)[0-9a-f]*$"
)
# The address blocks reserved for documentation (RFC 5737, RFC 3849): no network anyone deploys from.
_DOCUMENTATION_NETWORKS = tuple(
    ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
)

_HOW = {
    "nodeAgent.image": "push the agent image (`make image-push STACK={stack}`) and put the line it prints here",
    "nodeAgent.pushRepository": "name a repository of your own, e.g. <account>.dkr.ecr.<region>.amazonaws.com/"
    "gpu-node-agent",
    "karpenter.controller.imageDigest": "put the controller image's digest here (`crane digest "
    "public.ecr.aws/karpenter/controller:{karpenter_version}`)",
    "cluster.subnetIds": "list your VPC's private subnets, in two or more zones (`aws ec2 describe-subnets "
    "--filters Name=vpc-id,Values=<vpc-id>`)",
    "cluster.access.principalArn": "name an IAM role or user of your own account",
    "cluster.publicAccessCidrs": "list the networks that may reach the public API endpoint (your office or VPN "
    "egress range; your address now: `curl https://checkip.amazonaws.com`, as <ip>/32)",
    "cluster.privateAccessCidrs": "list the networks `pulumi up` and kubectl run from (a VPN or CI runner range)",
    "cluster.privateAccessSecurityGroupIds": "name the security group of the machine that runs `pulumi up` (a CI "
    "runner or bastion in the VPC)",
}
_HOW_DIGEST = "put the image's real digest here (`crane digest IMAGE:TAG`)"
_HOW_OTHER = "put a value of your own here"


def placeholder_problems(config: PlatformConfig, stack: str) -> list[tuple[str, str]]:
    """Each key of an EKS stack still holding an example value, with how to fill it; [] when none (or not EKS)."""
    if not config.on_eks:
        return []
    facts = {"stack": stack, "karpenter_version": config.karpenter.version}
    problems = []
    for path, value in _strings(config.model_dump(by_alias=True, exclude_defaults=True)):
        what = _example_in(value)
        if what is None:
            continue
        generic = re.sub(r"\[\d+\]", "", path)
        how = _HOW.get(generic, _HOW_DIGEST if what == _ZERO_DIGEST_IS else _HOW_OTHER).format(**facts)
        problems.append((f"{CONFIG_NAMESPACE}:{path}", f"{value!r} is {what}, which a deploy refuses: {how}"))
    return problems


def refuse_placeholders(config: PlatformConfig, stack: str, source: str) -> None:
    """Raise one ConfigError listing every example value left in an EKS stack; nothing when there is none."""
    if problems := placeholder_problems(config, stack):
        raise ConfigError(source, problems)


def _example_in(value: str) -> str | None:
    if _ZERO_DIGEST.search(value):
        return _ZERO_DIGEST_IS
    if _EXAMPLE_ACCOUNT.search(value):
        return "in AWS documentation's example account"
    if _EXAMPLE_RESOURCE_ID.match(value):
        return "an example id, not one of your VPC's"
    if _in_documentation_range(value):
        return "an address range reserved for documentation"
    return None


def _in_documentation_range(value: str) -> bool:
    try:
        network = ipaddress.ip_network(value, strict=False)
    except ValueError:
        return False
    return any(network.version == doc.version and network.subnet_of(doc) for doc in _DOCUMENTATION_NETWORKS)  # type: ignore[arg-type]


def _strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every string in a dumped config, with its stack-file key path (`cluster.access[0].principalArn`)."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _strings(item, f"{path}[{i}]")
