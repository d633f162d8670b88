"""`gpu-node-pools plan --stack X`: every AWS resource a stack declares, with its key settings, without AWS.

The real components declare the stack under Pulumi's mocks: the engine and the providers are stood in for, the
config handling and the components are the real ones. Values that only exist after a deploy (ARNs, ids, the
add-on versions AWS resolves) show as `<computed>` or as what the mocks answer, named so.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi

from .config.platform import PlatformConfig

__all__ = ["PlanMocks", "PlannedResource", "aws_resources", "declare", "plan_table"]

COMPUTED = "<computed>"

# The settings shown per resource type: input paths (dots for nesting) in the order a reviewer reads them.
KEY_SETTINGS: dict[str, tuple[str, ...]] = {
    "aws:eks/cluster:Cluster": (
        "name", "version", "accessConfig.authenticationMode", "accessConfig.bootstrapClusterCreatorAdminPermissions",
        "bootstrapSelfManagedAddons", "encryptionConfig.resources", "deletionProtection", "upgradePolicy.supportType",
        "vpcConfig.endpointPublicAccess", "vpcConfig.endpointPrivateAccess", "vpcConfig.publicAccessCidrs",
        "enabledClusterLogTypes",
    ),
    "aws:eks/nodeGroup:NodeGroup": (
        "nodeGroupName", "nodeGroupNamePrefix", "instanceTypes", "amiType", "capacityType", "scalingConfig",
        "diskSize", "taints", "launchTemplate",
    ),
    "aws:eks/addon:Addon": ("addonName", "addonVersion", "resolveConflictsOnUpdate", "configurationValues"),
    "aws:eks/accessEntry:AccessEntry": ("principalArn", "type"),
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": ("principalArn", "policyArn", "accessScope"),
    "aws:ec2/launchTemplate:LaunchTemplate": ("metadataOptions", "blockDeviceMappings", "instanceMarketOptions",
                                              "capacityReservationSpecification"),
    "aws:iam/role:Role": ("assumeRolePolicy",),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": ("policyArn",),
    "aws:kms/key:Key": ("enableKeyRotation", "deletionWindowInDays"),
    "aws:iam/policy:Policy": ("description",),
    "aws:iam/instanceProfile:InstanceProfile": (),
    "aws:eks/podIdentityAssociation:PodIdentityAssociation": ("namespace", "serviceAccount"),
    "aws:sqs/queue:Queue": ("name", "messageRetentionSeconds", "sqsManagedSseEnabled"),
    "aws:sqs/queuePolicy:QueuePolicy": (),
    "aws:cloudwatch/eventRule:EventRule": ("eventPattern", "state"),
    "aws:cloudwatch/eventTarget:EventTarget": ("targetId",),
    "aws:ec2/tag:Tag": ("resourceId", "key", "value"),
    "aws:cloudwatch/logGroup:LogGroup": ("name", "retentionInDays"),
}


@dataclass(frozen=True)
class PlannedResource:
    """One resource as the components declared it: type token, logical name, inputs (camelCase) and options."""

    type: str
    name: str
    inputs: dict[str, Any]
    protect: bool = False
    ignore_changes: list[str] = field(default_factory=list)

    def settings(self) -> dict[str, Any]:
        """The key settings of this type that are set (all top-level scalars for a type without a list)."""
        paths = KEY_SETTINGS.get(self.type)
        if paths is None:
            return {k: v for k, v in self.inputs.items() if isinstance(v, (str, int, float, bool))}
        found = {}
        for path in paths:
            value: Any = self.inputs
            for part in path.split("."):
                value = value.get(part) if isinstance(value, Mapping) else None
            if value not in (None, [], {}, ""):
                found[path] = value
        return found


class PlanMocks(pulumi.runtime.Mocks):
    """Stands in for the engine and the AWS/Kubernetes providers: records each resource, echoes its inputs as its
    state with `<computed>` ARNs and ids, and answers the few data-source calls the components make."""

    def __init__(self, calls: Mapping[str, Callable[[Mapping[str, Any]], dict[str, Any]]] | None = None) -> None:
        self.resources: list[pulumi.runtime.MockResourceArgs] = []
        self.calls: dict[str, Callable[[Mapping[str, Any]], dict[str, Any]]] = {
            # AWS resolves the newest add-on version for the cluster's Kubernetes version at deploy time.
            "aws:eks/getAddonVersion:getAddonVersion": lambda a: {
                "version": f"<newest {a.get('addonName')} for {a.get('kubernetesVersion')}>"},
            # No live node groups: the plan of a stack deployed for the first time.
            "aws:eks/getNodeGroups:getNodeGroups": lambda a: {"clusterName": a.get("clusterName"), "names": []},
            **(calls or {}),
        }

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.resources.append(args)
        state = dict(args.inputs)
        state.setdefault("arn", f"arn:aws:{COMPUTED}:{args.name}")
        state.setdefault("name", args.name)
        if args.typ == "aws:eks/cluster:Cluster":
            state.update(
                endpoint=f"https://{COMPUTED}.eks.amazonaws.com",
                certificateAuthority={"data": "Y2E="},
                # An ARN in the EKS shape, so policies built from its parts show where the values go.
                arn=f"arn:aws:eks:{COMPUTED}:{COMPUTED}:cluster/{args.inputs.get('name')}",
                vpcConfig={**args.inputs.get("vpcConfig", {}), "clusterSecurityGroupId": COMPUTED},
            )
        if args.typ == "aws:sqs/queue:Queue":
            state.update(url=f"https://sqs.{COMPUTED}.amazonaws.com/{COMPUTED}/{args.inputs.get('name')}")
        if args.typ == "aws:ec2/launchTemplate:LaunchTemplate":
            state.update(latestVersion=1)
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[Any, Any], list[tuple[str, str]]]:
        answer = self.calls.get(args.token)
        return (answer(args.args) if answer else {}), []


def declare(
    config: PlatformConfig,
    stack: str,
    project_root: Path,
    mocks: PlanMocks | None = None,
) -> list[PlannedResource]:
    """Declares `config` with the real `GpuPlatform` under mocks; returns every resource in declaration order."""
    mocks = mocks or PlanMocks()
    pulumi.runtime.set_mocks(mocks, project="gpu-node-pools", stack=stack, preview=False)
    options: dict[tuple[str, str], pulumi.ResourceOptions] = {}  # a node group and its launch template share a name

    def record(args: pulumi.ResourceTransformationArgs) -> None:
        options[args.type_, args.name] = args.opts

    @pulumi.runtime.test  # type: ignore[untyped-decorator]
    def program() -> None:
        from .pulumi_components.platform import GpuPlatform

        pulumi.runtime.register_stack_transformation(record)
        GpuPlatform(stack, config, project_root=project_root)

    program()
    declared = []
    for resource in mocks.resources:
        opts = options.get((resource.typ, resource.name))
        declared.append(PlannedResource(
            resource.typ, resource.name, _plain(dict(resource.inputs)),
            protect=bool(opts and opts.protect),
            ignore_changes=list(opts.ignore_changes or []) if opts else [],
        ))
    return declared


def _plain(value: Any) -> Any:
    """Inputs come back through protobuf, where every number is a float: show whole numbers as integers."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def aws_resources(resources: list[PlannedResource]) -> list[PlannedResource]:
    return [r for r in resources if r.type.startswith("aws:")]


def plan_table(resources: list[PlannedResource]) -> str:
    """One block per AWS resource: `TYPE NAME` then its key settings, one per line."""
    if not resources:
        return "no AWS resources: this stack deploys into an existing cluster"
    lines = []
    for resource in resources:
        flags = " (protected)" * resource.protect
        lines.append(f"{resource.type}  {resource.name}{flags}")
        for key, value in resource.settings().items():
            shown = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
            lines.append(f"    {key}: {shown}")
        if resource.ignore_changes:
            lines.append(f"    ignoreChanges: {', '.join(resource.ignore_changes)}")
    return "\n".join(lines)
