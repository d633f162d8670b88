"""`Cluster`: a new EKS cluster (IAM role, KMS key, log group, cluster, access entries, managed add-ons,
kubeconfig, Kubernetes provider) or an existing one reached through a kubeconfig."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from ..aws import PENDING_OUTPUT
from ..aws.access import associate_access_policy_request, create_access_entry_request
from ..aws.addons import (
    MANAGED_ADDONS,
    ManagedAddon,
    create_addon_request,
    vpc_cni_configuration,
)
from ..aws.cluster import (
    cluster_encryption_policy,
    control_plane_log_group_name,
    create_cluster_request,
    deny_log_group_creation_policy,
    kms_key_description,
)
from ..aws.kubeconfig import eks_kubeconfig
from ..aws.names import IAM_ROLE_NAME_MAX, autoname_within
from ..aws.provider_settings import AwsProviderSettings
from ..config.cluster import ClusterConfig, EksClusterConfig
from ..config.cluster_access import AccessEntryConfig
from .running_stack import running_aws_settings

__all__ = ["CLUSTER_ROLE_POLICY", "Cluster"]

CLUSTER_ROLE_POLICY = "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"
_EKS_TRUST = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "eks.amazonaws.com"}, "Action": "sts:AssumeRole"}],
})
# AWS keeps a deleted key this long before it is gone (and with it every Secret it encrypted).
KMS_DELETION_WINDOW_DAYS = 30


class Cluster(pulumi.ComponentResource):
    """Where the in-cluster layer goes. `provider` deploys into it; `name` is the EKS cluster name (or None).

    Node groups must depend on `compute_dependencies` (the add-ons nodes need to join), and
    `add_post_compute_addons(after=node_groups)` then adds the add-ons that run on nodes (CoreDNS).
    """

    provider: k8s.Provider
    name: pulumi.Output[str] | None
    arn: pulumi.Output[str] | None
    security_group_id: pulumi.Output[str] | None
    kubeconfig: pulumi.Output[str] | None
    kms_key_arn: pulumi.Output[str] | None
    compute_dependencies: list[pulumi.Resource]
    addons: dict[str, aws.eks.Addon]

    def __init__(
        self,
        name: str,
        config: ClusterConfig,
        opts: pulumi.ResourceOptions | None = None,
        *,
        project_root: Path | None = None,
        enforce_network_policy: bool = False,
        aws_settings: AwsProviderSettings | None = None,
    ) -> None:
        """`enforce_network_policy`: the stack declares NetworkPolicies, so the CNI must enforce them.
        `aws_settings`: the aws provider's identity (default: the running stack's `aws:` keys)."""
        super().__init__("gpu-node-pools:index:Cluster", name, None, opts)
        self._resource_name = name
        self._eks: EksClusterConfig | None = None
        self._network_policy = enforce_network_policy
        self.compute_dependencies = []
        self.addons = {}
        self.kms_key_arn = None
        if isinstance(config, EksClusterConfig):
            self._eks = config
            self._declare_eks(name, config, aws_settings or running_aws_settings())
        else:
            # An existing cluster: a path is handed to the provider as is, so no credential enters the state.
            path = Path(config.kubeconfig).expanduser()
            if not path.is_absolute() and project_root is not None:
                path = project_root / path
            self.name = None
            self.arn = None
            self.security_group_id = None
            self.kubeconfig = None
            self.provider = k8s.Provider(
                f"{name}-k8s", kubeconfig=str(path), context=config.context, opts=pulumi.ResourceOptions(parent=self)
            )
        self.register_outputs({"name": self.name, "kms_key_arn": self.kms_key_arn})

    def _declare_eks(self, name: str, config: EksClusterConfig, settings: AwsProviderSettings) -> None:
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(
            autoname_within(f"{name}-cluster", IAM_ROLE_NAME_MAX), assume_role_policy=_EKS_TRUST, opts=child
        )
        attachment = aws.iam.RolePolicyAttachment(
            f"{name}-cluster-policy", role=role.name, policy_arn=CLUSTER_ROLE_POLICY, opts=child
        )
        key_arn = self._kms_key(name, config)
        encryption_grant = aws.iam.RolePolicy(
            f"{name}-cluster-encryption",
            role=role.name,
            policy=key_arn.apply(lambda arn: json.dumps(cluster_encryption_policy(arn))),
            opts=child,
        )
        deny_log_group = aws.iam.RolePolicy(
            f"{name}-cluster-deny-log-group",
            role=role.name,
            policy=json.dumps(deny_log_group_creation_policy()),
            opts=child,
        )
        # Ours, made before the cluster: EKS would create it itself, keeping logs forever.
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-control-plane-logs",
            name=control_plane_log_group_name(config.name),
            retention_in_days=config.log_retention_days,
            opts=child,
        )
        request = create_cluster_request(config, role_arn=PENDING_OUTPUT, kms_key_arn=PENDING_OUTPUT)
        cluster = aws.eks.Cluster(
            name,
            role_arn=role.arn,
            encryption_config={
                "provider": {"key_arn": key_arn}, "resources": request["encryptionConfig"][0]["resources"]
            },
            **_cluster_kwargs(request),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[attachment, encryption_grant, deny_log_group, log_group]),
        )
        self._cluster = cluster
        self.name = cluster.name
        self.arn = cluster.arn
        # The security group EKS creates for the cluster and gives managed nodes without a security group of theirs.
        self.security_group_id = cluster.vpc_config.cluster_security_group_id
        for entry in config.access:
            self._access_entry(name, cluster, entry)
        self.compute_dependencies = [self._addon(a) for a in MANAGED_ADDONS if a.before_compute]

        region = aws.config.region
        self.kubeconfig = pulumi.Output.secret(
            pulumi.Output.all(cluster.name, cluster.endpoint, cluster.certificate_authority.data).apply(
                lambda a: json.dumps(eks_kubeconfig(
                    a[0], a[1], a[2], region, profile=settings.profile, role_arn=settings.role_arn
                ))
            )
        )
        self.provider = k8s.Provider(f"{name}-k8s", kubeconfig=self.kubeconfig, opts=child)

    def add_post_compute_addons(self, after: Sequence[pulumi.Resource]) -> list[pulumi.Resource]:
        """Declare the add-ons that run on nodes (CoreDNS), once `after` (the node groups) exist.

        Returns them, for what needs a working cluster; an existing cluster gets none.
        """
        if self._eks is None:
            return []
        return [
            self._addon(a, after)
            for a in MANAGED_ADDONS
            if not a.before_compute and self._eks.addons.enabled(a.name)
        ]

    def _kms_key(self, name: str, config: EksClusterConfig) -> pulumi.Output[str]:
        if config.encryption.kms_key_arn:
            self.kms_key_arn = pulumi.Output.from_input(config.encryption.kms_key_arn)
            return self.kms_key_arn
        child = pulumi.ResourceOptions(parent=self)
        key = aws.kms.Key(
            f"{name}-secrets",
            description=kms_key_description(config.name),
            enable_key_rotation=True,
            deletion_window_in_days=KMS_DELETION_WINDOW_DAYS,
            opts=child,
        )
        aws.kms.Alias(f"{name}-secrets", name=f"alias/eks/{config.name}", target_key_id=key.key_id, opts=child)
        self.kms_key_arn = key.arn
        return key.arn

    def _access_entry(self, name: str, cluster: aws.eks.Cluster, entry: AccessEntryConfig) -> None:
        entry_request = create_access_entry_request(PENDING_OUTPUT, entry)
        association = associate_access_policy_request(PENDING_OUTPUT, entry)
        account, principal = entry.principal_arn.split(":")[4:6]
        resource_name = f"{name}-access-{account}-{principal.replace('/', '-')}"
        access_entry = aws.eks.AccessEntry(
            resource_name,
            cluster_name=cluster.name,
            principal_arn=entry_request["principalArn"],
            type=entry_request["type"],
            opts=pulumi.ResourceOptions(parent=self),
        )
        scope = association["accessScope"]
        aws.eks.AccessPolicyAssociation(
            f"{resource_name}-policy",
            cluster_name=cluster.name,
            principal_arn=association["principalArn"],
            policy_arn=association["policyArn"],
            access_scope={"type": scope["type"], "namespaces": scope.get("namespaces")},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[access_entry]),
        )

    def _addon(self, addon: ManagedAddon, after: Sequence[pulumi.Resource] = ()) -> aws.eks.Addon:
        assert self._eks is not None
        config = self._eks
        pinned = config.addons.pinned(addon.name)
        request = create_addon_request(
            PENDING_OUTPUT,
            addon.name,
            version=pinned or PENDING_OUTPUT,
            configuration_values=vpc_cni_configuration(self._network_policy) if addon.name == "vpc-cni" else None,
        )
        version: pulumi.Input[str] = pinned or aws.eks.get_addon_version_output(
            addon_name=addon.name, kubernetes_version=config.version, most_recent=True
        ).version
        resource = aws.eks.Addon(
            f"{self._resource_name}-{addon.name}",
            cluster_name=self._cluster.name,
            addon_name=request["addonName"],
            addon_version=version,
            configuration_values=request.get("configurationValues"),
            resolve_conflicts_on_create=request["resolveConflicts"],
            resolve_conflicts_on_update=request["resolveConflicts"],
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(after)),
        )
        self.addons[addon.name] = resource
        return resource


def _cluster_kwargs(request: dict[str, Any]) -> dict[str, Any]:
    """The CreateCluster request's plain fields as `aws.eks.Cluster` arguments."""
    vpc = request["resourcesVpcConfig"]
    access = request["accessConfig"]
    logging = request.get("logging", {}).get("clusterLogging", [])
    return {
        "name": request["name"],
        "version": request["version"],
        "vpc_config": {
            "subnet_ids": vpc["subnetIds"],
            "endpoint_private_access": vpc["endpointPrivateAccess"],
            "endpoint_public_access": vpc["endpointPublicAccess"],
            "public_access_cidrs": vpc.get("publicAccessCidrs"),
        },
        "enabled_cluster_log_types": [t for group in logging for t in group["types"]],
        "access_config": {
            "authentication_mode": access["authenticationMode"],
            "bootstrap_cluster_creator_admin_permissions": access["bootstrapClusterCreatorAdminPermissions"],
        },
        "bootstrap_self_managed_addons": request["bootstrapSelfManagedAddons"],
        "upgrade_policy": {"support_type": request["upgradePolicy"]["supportType"]},
        "deletion_protection": request["deletionProtection"],
    }
