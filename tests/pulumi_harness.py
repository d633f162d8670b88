"""Run the real stack program under Pulumi's mocks: every resource it declares, with its inputs and options.

AWS can't be reached from here, so `set_mocks` stands in for the engine and providers; the program, the
components and the config handling are the real ones. Config is fed the way the Pulumi CLI feeds it: every
key of the stack file, objects JSON-encoded.
"""

from __future__ import annotations

import json
import runpy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml

ROOT = Path(__file__).resolve().parent.parent
# A project folder as `make image` leaves it: the repo's Pulumi.yaml and stacks, and build/image holding a made-up
# image (digest, version label). A stack whose nodeAgent.imageBuild names build/image reads its image there, so no
# test needs `make image`.
PROJECT_WITH_IMAGE = ROOT / "tests" / "data" / "project-with-image"


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


def stack_config(stack: str) -> dict[str, str]:
    raw = yaml.safe_load((ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())["config"]
    agent = raw.get("gpu-node-pools:nodeAgent") or {}
    if "imageBuild" in agent:  # the program reads it relative to the repo: point it at the fixture's build
        raw["gpu-node-pools:nodeAgent"] = {**agent, "imageBuild": str(PROJECT_WITH_IMAGE / agent["imageBuild"])}
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in raw.items()}


def run_program(
    stack: str, config: dict[str, str] | None = None, live_node_groups: LiveNodeGroups | None = None
) -> list[Declared]:
    """Declare `stack`'s resources through infra/__main__.py; returns them in declaration order.

    `live_node_groups` are the node groups the EKS lookups find; by default no cluster exists yet."""
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

    program()
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
