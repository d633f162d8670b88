"""Run the real stack program under Pulumi's mocks: every resource it declares, with its inputs and options.

AWS can't be reached from here, so `set_mocks` stands in for the engine and providers; the program, the
components and the config handling are the real ones. Config is fed the way the Pulumi CLI feeds it: every
key of the stack file, objects JSON-encoded.
"""

from __future__ import annotations

import functools
import json
import os
import runpy
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Declared:
    typ: str
    name: str
    inputs: dict[str, Any]
    protect: bool = False
    ignore_changes: list[str] = field(default_factory=list)
    depends_on: list[str] = field(default_factory=list)
    """Names of the resources given in `depends_on`."""


# cluster name -> node group name -> what EKS DescribeNodegroup says of it, in the provider's getNodeGroup shape,
# e.g. {"gpu-dev": {"gpu-abc": {"scalingConfigs": [{"desiredSize": 2, "minSize": 0, "maxSize": 4}], "tags": {...}}}}
LiveNodeGroups = dict[str, dict[str, dict[str, Any]]]


class RecordingMocks(pulumi.runtime.Mocks):
    def __init__(self, live_node_groups: LiveNodeGroups | None = None) -> None:
        self.resources: list[pulumi.runtime.MockResourceArgs] = []
        self.live_node_groups = live_node_groups or {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.resources.append(args)
        state = dict(args.inputs)
        if args.typ == "aws:iam/role:Role":
            state.update(arn=f"arn:aws:iam::123456789012:role/{args.name}", name=args.name)
        if args.typ == "aws:ec2/launchTemplate:LaunchTemplate":
            state.update(latestVersion=1)
        if args.typ == "aws:kms/key:Key":
            state.update(arn=f"arn:aws:kms:us-west-2:123456789012:key/{args.name}", keyId=args.name)
        if args.typ == "aws:eks/cluster:Cluster":
            state.update(
                endpoint="https://example.eks.amazonaws.com",
                certificateAuthority={"data": "Y2E="},
                arn=f"arn:aws:eks:us-west-2:123456789012:cluster/{args.inputs['name']}",
                vpcConfig={**args.inputs.get("vpcConfig", {}), "clusterSecurityGroupId": "sg-0123456789abcdef0"},
            )
        if args.typ == "aws:iam/policy:Policy":
            state.update(arn=f"arn:aws:iam::123456789012:policy/{args.name}")
        if args.typ == "aws:iam/instanceProfile:InstanceProfile":
            state.update(name=args.name, arn=f"arn:aws:iam::123456789012:instance-profile/{args.name}")
        if args.typ == "aws:sqs/queue:Queue":
            name = args.inputs["name"]
            state.update(arn=f"arn:aws:sqs:us-west-2:123456789012:{name}",
                         url=f"https://sqs.us-west-2.amazonaws.com/123456789012/{name}")
        if args.typ == "aws:cloudwatch/eventRule:EventRule":
            state.update(name=args.name, arn=f"arn:aws:events:us-west-2:123456789012:rule/{args.name}")
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs) -> Any:
        if args.token == "aws:eks/getNodeGroups:getNodeGroups":
            cluster = args.args["clusterName"]
            if cluster not in self.live_node_groups:  # as the provider reports EKS' answer
                return {}, [("clusterName", f"ResourceNotFoundException: No cluster found for name: {cluster}.")]
            return {"clusterName": cluster, "id": cluster, "names": sorted(self.live_node_groups[cluster])}
        if args.token == "aws:eks/getNodeGroup:getNodeGroup":
            group = self.live_node_groups[args.args["clusterName"]][args.args["nodeGroupName"]]
            return {"clusterName": args.args["clusterName"], "nodeGroupName": args.args["nodeGroupName"], **group}
        if args.token == "aws:eks/getAddonVersion:getAddonVersion":
            # A version that shows which cluster version the lookup was made for.
            return {**args.args, "id": args.args["addonName"], "version": mock_addon_version(args.args)}
        return {}


def mock_addon_version(lookup: dict[str, Any]) -> str:
    return f"v{lookup['kubernetesVersion']}.0-eksbuild.1"


# What a user puts in place of the shipped stacks' example values before a first deploy (a deploy refuses them:
# config/placeholders.py): their account, the digests they looked up, their VPC's subnets.
USER_VALUES = {
    "111122223333": "210987654321",
    "sha256:" + "0" * 64: "sha256:" + "5e" * 32,
    "subnet-0a1b2c3d4e5f6": "subnet-0d2e7a91c4b3f",
    "subnet-0f1e2d3c4b5a6": "subnet-0b7c1e94a2d5f",
}


def stack_config(stack: str, *, filled: bool = True) -> dict[str, str]:
    """The stack file's config as the CLI feeds it; `filled`: with the example values replaced, as a user does."""
    text = (ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text()
    for example, value in USER_VALUES.items() if filled else ():
        text = text.replace(example, value)
    raw = yaml.safe_load(text)["config"]
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in raw.items()}


def stack_model(stack: str, *, filled: bool = True) -> Any:
    """The stack's validated PlatformConfig, from `stack_config`."""
    from gpu_node_pools.config.platform import parse_platform_config
    from gpu_node_pools.config.stack_files import namespace_values

    values = {k: json.loads(v) if v[:1] in "[{" else v for k, v in stack_config(stack, filled=filled).items()}
    return parse_platform_config(namespace_values(values), f"stacks/Pulumi.{stack}.yaml")


@functools.cache
def _path_with_aws_cli(aws_cli: bool) -> str:
    """A PATH on which the AWS CLI (which the program checks for on EKS stacks) is a stub, or is absent."""
    folder = Path(tempfile.mkdtemp(prefix="gnp-path-"))
    if aws_cli:
        stub = folder / "aws"
        stub.write_text("#!/bin/sh\nexit 1\n")
        stub.chmod(0o755)
    return str(folder)


def run_program(
    stack: str, config: dict[str, str] | None = None, live_node_groups: LiveNodeGroups | None = None,
    *, aws_cli: bool = True,
) -> list[Declared]:
    """Declare `stack`'s resources through infra/__main__.py; returns them in declaration order.

    `live_node_groups` are the node groups the EKS lookups find; by default no cluster exists yet. `aws_cli`:
    whether the AWS CLI is on PATH (a stub: the program only looks for it)."""
    mocks = RecordingMocks(live_node_groups)
    pulumi.runtime.set_mocks(mocks, project="gpu-node-pools", stack=stack, preview=False)
    pulumi.runtime.set_all_config(stack_config(stack) if config is None else config)
    options: dict[tuple[str, str], pulumi.ResourceOptions] = {}

    def record(args: pulumi.ResourceTransformationArgs) -> None:
        options[args.type_, args.name] = args.opts

    @pulumi.runtime.test
    def program() -> None:
        pulumi.runtime.register_stack_transformation(record)
        runpy.run_path(str(ROOT / "infra" / "__main__.py"), run_name="__main__")

    path = os.environ.get("PATH", "")
    os.environ["PATH"] = _path_with_aws_cli(aws_cli)
    try:
        program()
    finally:
        os.environ["PATH"] = path
    declared = []
    for r in mocks.resources:
        opts = options.get((r.typ, r.name))
        depends_on = opts.depends_on if opts and isinstance(opts.depends_on, list) else []
        declared.append(Declared(
            r.typ, r.name, dict(r.inputs),
            protect=bool(opts and opts.protect),
            ignore_changes=list(opts.ignore_changes or []) if opts else [],
            depends_on=[d._name for d in depends_on if isinstance(d, pulumi.Resource)],
        ))
    return declared
