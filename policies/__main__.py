"""The gpu-node-pools policy pack: `pulumi preview --policy-pack policies` (see docs/policies.md).

Each policy adapts one check of gpu_policies.py; every violation names the resource and what to change.
"""

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyPack,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)

import gpu_policies as checks

_TAINT_SCHEMA = {
    "type": "object",
    "description": "The GPU taint of the isolation contract (the stack's gpu-node-pools:gpuTaint).",
    "properties": {"key": {"type": "string"}, "value": {"type": "string"}, "effect": {"type": "string"}},
    "required": ["key", "effect"],
    "default": checks.DEFAULT_GPU_TAINT,
}


def _report(problems: list[str], report_violation: ReportViolation) -> None:
    for problem in problems:
        report_violation(problem, None)


def _taint(args: ResourceValidationArgs) -> dict:
    return {"value": "", **args.get_config()["gpuTaint"]}


def _resources(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    _report(checks.check_resources(args.resource_type, args.props), report_violation)


def _gpu_toleration(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    _report(checks.check_gpu_toleration(args.resource_type, args.props, _taint(args)), report_violation)


def _images(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    require_digests = args.get_config()["requireImageDigests"]
    _report(checks.check_images_pinned(args.resource_type, args.props, require_digests), report_violation)


def _non_root(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    allowed = args.get_config()["allowed"]
    _report(checks.check_non_root(args.resource_type, args.props, allowed), report_violation)


def _node_group_taint(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    _report(checks.check_gpu_node_group_taint(args.resource_type, args.props, _taint(args)), report_violation)


def _node_class_ami(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    require = args.get_config()["requireDatedAmiAlias"]
    _report(checks.check_node_class_ami_pinned(args.resource_type, args.props, require), report_violation)


def _priority_default(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    allowed = args.get_config()["allowedGlobalDefaults"]
    _report(checks.check_priority_class_default(args.resource_type, args.props, allowed), report_violation)


POLICIES = [
    ResourceValidationPolicy(
        name="containers-set-resources",
        description="Every container sets cpu and memory requests and a memory limit.",
        validate=_resources,
    ),
    ResourceValidationPolicy(
        name="gpu-pods-tolerate-gpu-taint",
        description="A pod template that requests nvidia.com/gpu tolerates the GPU taint.",
        validate=_gpu_toleration,
        config_schema=PolicyConfigSchema(properties={"gpuTaint": _TAINT_SCHEMA}),
    ),
    ResourceValidationPolicy(
        name="images-pinned",
        description="Container images carry a version tag (not latest) or a digest; a digest if so configured.",
        validate=_images,
        config_schema=PolicyConfigSchema(properties={"requireImageDigests": {
            "type": "boolean",
            "description": "Every container image must name a sha256 digest (prod: policies/prod.json).",
            "default": False,
        }}),
    ),
    ResourceValidationPolicy(
        name="containers-run-as-non-root",
        description="Containers run as non-root unless allow-listed with a reason.",
        validate=_non_root,
        config_schema=PolicyConfigSchema(properties={"allowed": {
            "type": "array",
            "description": "Workloads allowed to run as root: {kind, name (or namePrefix), namespace?, container?, "
                           "reason}.",
            "items": {"type": "object", "required": ["kind", "reason"]},
            "default": checks.DEFAULT_ROOT_ALLOWED,
        }}),
    ),
    ResourceValidationPolicy(
        name="eks-gpu-node-groups-tainted",
        description="EKS node groups of GPU instances carry the GPU taint.",
        validate=_node_group_taint,
        config_schema=PolicyConfigSchema(properties={"gpuTaint": _TAINT_SCHEMA}),
    ),
    ResourceValidationPolicy(
        name="karpenter-ami-pinned",
        description="A Karpenter EC2NodeClass selects one AMI release, if so configured.",
        validate=_node_class_ami,
        config_schema=PolicyConfigSchema(properties={"requireDatedAmiAlias": {
            "type": "boolean",
            "description": "amiSelectorTerms name a dated alias (al2023@vYYYYMMDD) or an AMI id (prod: policies/prod.json).",
            "default": False,
        }}),
    ),
    ResourceValidationPolicy(
        name="priority-class-not-global-default",
        description="No PriorityClass is globalDefault unless configured as the intended default.",
        validate=_priority_default,
        config_schema=PolicyConfigSchema(properties={"allowedGlobalDefaults": {
            "type": "array",
            "description": "Names of PriorityClasses that may be globalDefault (a stack that sets one on purpose).",
            "items": {"type": "string"},
            "default": [],
        }}),
    ),
]

PolicyPack(name="gpu-node-pools", enforcement_level=EnforcementLevel.MANDATORY, policies=POLICIES)
