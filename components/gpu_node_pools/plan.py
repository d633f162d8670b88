"""`gpu-node-pools plan --stack X`: every AWS resource a stack declares, with its key settings, without AWS; on
EKS also the Karpenter NodePools, the capacity AWS bills as it launches it (and on eks-auto their NodeClass).

The real components declare the stack under Pulumi's mocks (`mock_engine`): the engine and the providers are stood
in for, the config handling and the components are the real ones. Values that only exist after a deploy (ARNs,
ids, the add-on versions AWS resolves) show as `<computed>` or as what the mocks answer, named so.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .config.platform import PlatformConfig
from .mock_engine import DeclaredResource, declare_platform

__all__ = ["key_settings", "plan", "plan_json", "plan_table"]

# Karpenter NodePools as pulumi-kubernetes declares them (custom resources take their kind as the type's name).
NODE_POOL_TYPE = "kubernetes:karpenter.sh/v1:NodePool"
# On eks-auto, the NodeClass they boot from (the node role and network it names).
AUTO_NODE_CLASS_TYPE = "kubernetes:eks.amazonaws.com/v1:NodeClass"

# The settings shown per resource type: input paths (dots for nesting) in the order a reviewer reads them.
KEY_SETTINGS: dict[str, tuple[str, ...]] = {
    "aws:eks/cluster:Cluster": (
        "name", "version", "accessConfig.authenticationMode", "accessConfig.bootstrapClusterCreatorAdminPermissions",
        "bootstrapSelfManagedAddons", "encryptionConfig.resources", "deletionProtection", "upgradePolicy.supportType",
        "vpcConfig.endpointPublicAccess", "vpcConfig.endpointPrivateAccess", "vpcConfig.publicAccessCidrs",
        "vpcConfig.securityGroupIds", "enabledClusterLogTypes", "computeConfig",
        "kubernetesNetworkConfig.elasticLoadBalancing", "storageConfig.blockStorage",
    ),
    # Who reaches the API endpoint: the control plane's own group and one rule per admitted source.
    "aws:ec2/securityGroup:SecurityGroup": ("name", "vpcId", "description"),
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": (
        "ipProtocol", "fromPort", "toPort", "cidrIpv4", "cidrIpv6", "referencedSecurityGroupId", "description",
    ),
    "aws:eks/nodeGroup:NodeGroup": (
        "nodeGroupName", "nodeGroupNamePrefix", "instanceTypes", "amiType", "capacityType", "scalingConfig",
        "diskSize", "labels", "taints", "launchTemplate",
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
    "kubernetes:eks.amazonaws.com/v1:NodeClass": ("spec.role", "spec.subnetSelectorTerms",
                                                  "spec.securityGroupSelectorTerms", "spec.ephemeralStorage"),
    "aws:cloudwatch/logGroup:LogGroup": ("name", "retentionInDays"),
    NODE_POOL_TYPE: ("metadata.name", "spec.template.spec.nodeClassRef.name", "spec.template.spec.requirements",
                     "spec.template.spec.taints", "spec.limits",
                     "spec.disruption.consolidationPolicy", "spec.disruption.consolidateAfter", "spec.weight"),
}


def key_settings(resource: DeclaredResource) -> dict[str, Any]:
    """The key settings of its type that are set (all top-level scalars for a type without a list)."""
    paths = KEY_SETTINGS.get(resource.type)
    if paths is None:
        return {k: v for k, v in resource.inputs.items() if isinstance(v, (str, int, float, bool))}
    found = {}
    for path in paths:
        value: Any = resource.inputs
        for part in path.split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
        if value not in (None, [], {}, ""):
            found[path] = value
    return found


def plan(config: PlatformConfig, stack: str, project_root: Path) -> list[DeclaredResource]:
    """The AWS resources the real `GpuPlatform` declares for `config`, in declaration order; on EKS, then its
    Karpenter NodePools (what Karpenter may launch, and the cap)."""
    declared = declare_platform(config, stack, project_root)
    node_pools = [r for r in declared if r.type in (AUTO_NODE_CLASS_TYPE, NODE_POOL_TYPE)] if config.on_eks else []
    return [r for r in declared if r.type.startswith("aws:")] + node_pools


def plan_json(resources: list[DeclaredResource]) -> str:
    """Every resource with all its inputs and its protect and ignoreChanges options."""
    shown = [{"type": r.type, "name": r.name, "inputs": r.inputs, "protect": r.protect,
              "ignore_changes": r.ignore_changes} for r in resources]
    return json.dumps(shown, indent=2, default=str)


def plan_table(resources: list[DeclaredResource]) -> str:
    """One block per AWS resource: `TYPE NAME` then its key settings, one per line."""
    if not resources:
        return "no AWS resources: this stack deploys into an existing cluster"
    lines = []
    for resource in resources:
        flags = " (protected)" * resource.protect
        lines.append(f"{resource.type}  {resource.name}{flags}")
        for key, value in key_settings(resource).items():
            shown = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
            lines.append(f"    {key}: {shown}")
        if resource.ignore_changes:
            lines.append(f"    ignoreChanges: {', '.join(resource.ignore_changes)}")
    return "\n".join(lines)
