"""The stack's resources declared under Pulumi's mocks: what `gpu-node-pools plan` prints and the tests read.

The engine and the AWS/Kubernetes providers are stood in for; the program, the components and the config
handling are the real ones. Each resource's state echoes its inputs plus what AWS would compute for it (ARNs,
ids, endpoints), and the few data-source calls the components make are answered. Values only a deploy knows
come from a `DeployValues`: `<computed>` placeholders for the plan, example account and region for the tests.
"""

from __future__ import annotations

import json
import runpy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml

from .config.platform import PlatformConfig
from .config.stack_files import stack_file

__all__ = [
    "COMPUTED",
    "EXAMPLE_VALUES",
    "PLACEHOLDER_VALUES",
    "DeclaredResource",
    "aws_operations",
    "DeployValues",
    "LiveNodeGroups",
    "MockEngine",
    "declare",
    "declare_platform",
    "program_config",
    "run_stack_program",
    "stack_file_config",
]

COMPUTED = "<computed>"
PROJECT = "gpu-node-pools"

# cluster name -> node group name -> what EKS DescribeNodegroup says of it, in the provider's getNodeGroup shape,
# e.g. {"gpu-dev": {"gpu-abc": {"scalingConfigs": [{"desiredSize": 2, "minSize": 0, "maxSize": 4}], "tags": {...}}}}
LiveNodeGroups = dict[str, dict[str, dict[str, Any]]]


@dataclass(frozen=True)
class DeployValues:
    """What stands for the values AWS decides at deploy time."""

    account: str
    region: str
    security_group: str
    vpc: str
    caller_arn: str
    """STS GetCallerIdentity's ARN: the identity running the deploy."""
    addon_version: Callable[[str, str], str]
    """(add-on name, cluster Kubernetes version) -> the version AWS resolves."""


PLACEHOLDER_VALUES = DeployValues(
    account=COMPUTED, region=COMPUTED, security_group=COMPUTED, vpc=COMPUTED,
    caller_arn=f"arn:aws:sts::{COMPUTED}:assumed-role/<role running pulumi up>/<session>",
    addon_version=lambda addon, kubernetes: f"<newest {addon} for {kubernetes}>",
)
EXAMPLE_VALUES = DeployValues(
    account="123456789012", region="us-west-2", security_group="sg-0123456789abcdef0", vpc="vpc-0123456789abcdef0",
    caller_arn="arn:aws:sts::123456789012:assumed-role/gpu-platform-deployer/pulumi-session",
    addon_version=lambda addon, kubernetes: f"v{kubernetes}.0-eksbuild.1",
)

# Type token -> the ARN's service and resource part (`{name}`: the resource's name); other types get a generic one.
_ARNS: dict[str, tuple[str, str]] = {
    "aws:eks/cluster:Cluster": ("eks", "cluster/{name}"),
    "aws:iam/role:Role": ("iam", "role/{name}"),
    "aws:iam/policy:Policy": ("iam", "policy/{name}"),
    "aws:iam/instanceProfile:InstanceProfile": ("iam", "instance-profile/{name}"),
    "aws:kms/key:Key": ("kms", "key/{name}"),
    "aws:sqs/queue:Queue": ("sqs", "{name}"),
    "aws:cloudwatch/eventRule:EventRule": ("events", "rule/{name}"),
}
_GLOBAL_SERVICES = {"iam"}  # their ARNs carry no region


class MockEngine(pulumi.runtime.Mocks):
    """Records every resource registered; answers with its inputs plus AWS's computed values; answers the lookups.

    `live_node_groups` are the node groups the EKS lookups find; by default no cluster exists yet.
    """

    def __init__(
        self, live_node_groups: LiveNodeGroups | None = None, *, values: DeployValues = EXAMPLE_VALUES
    ) -> None:
        self.resources: list[pulumi.runtime.MockResourceArgs] = []
        self.calls: list[str] = []
        """The token of every lookup (data source) the program made, in order."""
        self.live_node_groups = live_node_groups or {}
        self.values = values

    def _arn(self, typ: str, name: str) -> str:
        service, resource = _ARNS.get(typ, (typ.split(":")[1].split("/")[0], "{name}"))
        region = "" if service in _GLOBAL_SERVICES else self.values.region
        return f"arn:aws:{service}:{region}:{self.values.account}:{resource.format(name=name)}"

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.resources.append(args)
        if not args.typ.startswith("aws:"):
            return f"{args.name}-id", dict(args.inputs)
        # Resources named by an input (the cluster, the queue) carry that name; the others their logical name.
        name = args.inputs.get("name") or args.name
        state = {"name": name, "arn": self._arn(args.typ, name), **args.inputs}
        if args.typ == "aws:eks/cluster:Cluster":
            state.update(
                endpoint=f"https://{name}.{self.values.region}.eks.amazonaws.com",
                certificateAuthority={"data": "Y2E="},
                vpcConfig={**args.inputs.get("vpcConfig", {}), "clusterSecurityGroupId": self.values.security_group},
            )
        if args.typ == "aws:sqs/queue:Queue":
            state.update(url=f"https://sqs.{self.values.region}.amazonaws.com/{self.values.account}/{name}")
        if args.typ == "aws:ec2/launchTemplate:LaunchTemplate":
            state.update(latestVersion=1)
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs) -> Any:
        self.calls.append(args.token)
        if args.token == "aws:eks/getNodeGroups:getNodeGroups":
            cluster = args.args["clusterName"]
            if cluster not in self.live_node_groups:  # as the provider reports EKS' answer
                return {}, [("clusterName", f"ResourceNotFoundException: No cluster found for name: {cluster}.")]
            return {"clusterName": cluster, "id": cluster, "names": sorted(self.live_node_groups[cluster])}
        if args.token == "aws:eks/getNodeGroup:getNodeGroup":
            group = self.live_node_groups[args.args["clusterName"]][args.args["nodeGroupName"]]
            return {"clusterName": args.args["clusterName"], "nodeGroupName": args.args["nodeGroupName"], **group}
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"id": self.values.account, "accountId": self.values.account, "arn": self.values.caller_arn,
                    "userId": "AROAEXAMPLE:pulumi-session"}
        if args.token == "aws:ec2/getSubnet:getSubnet":
            return {"id": args.args["id"], "vpcId": self.values.vpc}
        if args.token == "aws:eks/getAddonVersion:getAddonVersion":
            version = self.values.addon_version(args.args["addonName"], args.args["kubernetesVersion"])
            return {**args.args, "id": args.args["addonName"], "version": version}
        return {}


@dataclass(frozen=True)
class DeclaredResource:
    """One resource as the program declared it: type token, logical name, inputs (camelCase) and options."""

    type: str
    name: str
    inputs: dict[str, Any]
    protect: bool = False
    ignore_changes: list[str] = field(default_factory=list)
    depends_on: list[str] = field(default_factory=list)
    """Names of the resources given in `depends_on`."""


def declare(program: Callable[[], None], stack: str, engine: MockEngine | None = None) -> list[DeclaredResource]:
    """Run `program` as stack `stack` under `engine`; every resource it declared, in declaration order."""
    engine = engine or MockEngine()
    pulumi.runtime.set_mocks(engine, project=PROJECT, stack=stack, preview=False)
    options: dict[tuple[str, str], pulumi.ResourceOptions] = {}  # a node group and its launch template share a name

    def record(args: pulumi.ResourceTransformationArgs) -> None:
        options[args.type_, args.name] = args.opts

    @pulumi.runtime.test  # type: ignore[untyped-decorator]
    def run() -> None:
        pulumi.runtime.register_stack_transformation(record)
        program()

    run()
    declared = []
    for resource in engine.resources:
        opts = options.get((resource.typ, resource.name))
        depends_on = opts.depends_on if opts and isinstance(opts.depends_on, list) else []
        declared.append(DeclaredResource(
            resource.typ, resource.name, _plain(dict(resource.inputs)),
            protect=bool(opts and opts.protect),
            ignore_changes=list(opts.ignore_changes or []) if opts else [],
            depends_on=[d._name for d in depends_on if isinstance(d, pulumi.Resource)],
        ))
    return declared


def declare_platform(
    config: PlatformConfig, stack: str, project_root: Path, values: DeployValues = PLACEHOLDER_VALUES
) -> list[DeclaredResource]:
    """The real `GpuPlatform` of a validated `config`, declared without the stack program around it."""

    def program() -> None:
        from .pulumi_components.platform import GpuPlatform

        GpuPlatform(stack, config, project_root=project_root)

    return declare(program, stack, MockEngine(values=values))


def aws_operations(config: PlatformConfig, stack: str, project_root: Path) -> tuple[set[str], set[str]]:
    """The AWS resource types the real `GpuPlatform` declares for `config`, and the AWS lookups it makes: on a first
    deploy, and on an update (the cluster exists, with a node group to look at: one that is not the stack's)."""
    cluster = getattr(config.cluster, "name", None)
    updating: LiveNodeGroups = {cluster: {"other-team": {"scalingConfigs": [], "tags": {}}}} if cluster else {}
    types: set[str] = set()
    lookups: set[str] = set()
    for live in ({}, updating):
        engine = MockEngine(live, values=PLACEHOLDER_VALUES)

        def program() -> None:
            from .pulumi_components.platform import GpuPlatform

            GpuPlatform(stack, config, project_root=project_root)

        types |= {r.type for r in declare(program, stack, engine) if r.type.startswith("aws:")}
        lookups |= {t for t in engine.calls if t.startswith("aws:")}
    return types, lookups


def program_config(raw: Mapping[str, Any]) -> dict[str, str]:
    """A stack file's `config:` map as the Pulumi CLI hands it to a program: every key, objects JSON-encoded."""
    return {key: value if isinstance(value, str) else json.dumps(value) for key, value in raw.items()}


def stack_file_config(project_root: Path, stack: str) -> dict[str, str]:
    """`stacks/Pulumi.<stack>.yaml`'s config as the Pulumi CLI hands it to the program."""
    return program_config(yaml.safe_load(stack_file(stack, project_root).read_text())["config"])


def run_stack_program(
    project_root: Path,
    stack: str,
    config: Mapping[str, str] | None = None,
    engine: MockEngine | None = None,
) -> list[DeclaredResource]:
    """Run the project's stack program (`main:` in Pulumi.yaml) with `config`, by default the stack file's.

    Run as the Python language host runs it: its folder as a path, which Python puts first on `sys.path`.
    """
    main = yaml.safe_load((project_root / "Pulumi.yaml").read_text()).get("main", ".")
    pulumi.runtime.set_all_config(dict(stack_file_config(project_root, stack) if config is None else config))

    def program() -> None:
        runpy.run_path(str(project_root / main), run_name="__main__")

    return declare(program, stack, engine)


def _plain(value: Any) -> Any:
    """Inputs come back through protobuf, where every number is a float: show whole numbers as integers."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value
