"""`Cluster`: a new EKS cluster (IAM role, KMS key, log group, endpoint security group, cluster, access entries,
managed add-ons, kubeconfig, Kubernetes provider) or an existing one reached through a kubeconfig."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from ..aws import PENDING_OUTPUT
from ..aws.access import (
    associate_access_policy_request,
    create_access_entry_request,
    creator_access_entry,
    creator_principal_arn,
)
from ..aws.auto_mode import (
    AUTO_MODE_CLUSTER_POLICIES,
    AUTO_MODE_NODE_POLICIES,
    auto_mode_cluster_fields,
    cluster_trust_policy,
    node_access_entry_request,
    node_access_policy_request,
    node_needs_own_access_entry,
)
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
from ..aws.endpoint_access import endpoint_ingress_requests, endpoint_security_group_request
from ..aws.kubeconfig import eks_kubeconfig
from ..aws.names import IAM_ROLE_NAME_MAX, autoname_within
from ..aws.provider_settings import AwsProviderSettings
from ..config.cluster import ClusterConfig, EksAutoClusterConfig, EksClusterConfig
from ..config.cluster_access import AccessEntryConfig
from .running_stack import running_aws_settings

__all__ = ["CLUSTER_ROLE_POLICY", "Cluster"]

CLUSTER_ROLE_POLICY = "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"
_EC2_TRUST = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
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
    auto_node_role_name: pulumi.Output[str] | None
    """eks-auto: the node role our Auto Mode NodeClass names (None otherwise)"""

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
        self.auto_node_role_name = None
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
        # First, before any resource: a deploying identity no access entry can name stops the program here.
        creator = _creator_entry(config)
        child = pulumi.ResourceOptions(parent=self)
        auto = config.auto_mode if isinstance(config, EksAutoClusterConfig) else None
        role = aws.iam.Role(
            autoname_within(f"{name}-cluster", IAM_ROLE_NAME_MAX),
            assume_role_policy=json.dumps(cluster_trust_policy(auto_mode=auto is not None)), opts=child,
        )
        attachment = aws.iam.RolePolicyAttachment(
            f"{name}-cluster-policy", role=role.name, policy_arn=CLUSTER_ROLE_POLICY, opts=child
        )
        # Auto Mode: EKS launches instances, volumes and load balancers with the cluster role.
        auto_attachments = [
            aws.iam.RolePolicyAttachment(f"{name}-cluster-{arn.rsplit('/', 1)[1]}", role=role.name, policy_arn=arn,
                                         opts=child)
            for arn in (AUTO_MODE_CLUSTER_POLICIES if auto is not None else ()) if arn != CLUSTER_ROLE_POLICY
        ]
        node_role = self._auto_node_role(name) if auto is not None else None
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
        endpoint_group, endpoint_rules = self._endpoint_access(name, config)
        request = create_cluster_request(
            config, role_arn=PENDING_OUTPUT, kms_key_arn=PENDING_OUTPUT, endpoint_security_group_id=PENDING_OUTPUT
        )
        extra: dict[str, Any] = {}
        if auto is not None and node_role is not None:
            request |= auto_mode_cluster_fields(auto, node_role_arn=PENDING_OUTPUT)
            extra = _auto_mode_kwargs(request, node_role.arn)
        cluster = aws.eks.Cluster(
            name,
            role_arn=role.arn,
            encryption_config={
                "provider": {"key_arn": key_arn}, "resources": request["encryptionConfig"][0]["resources"]
            },
            **_cluster_kwargs(request, security_group_ids=[endpoint_group.id]),
            **extra,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[
                attachment, *auto_attachments, encryption_grant, deny_log_group, log_group, *endpoint_rules]),
        )
        self._cluster = cluster
        self.name = cluster.name
        self.arn = cluster.arn
        # The security group EKS creates for the cluster and gives managed nodes without a security group of theirs.
        self.security_group_id = cluster.vpc_config.cluster_security_group_id
        access = [self._access_entry(f"{name}-creator-admin", cluster, creator)] if creator else []
        for entry in config.access:
            account, principal = entry.principal_arn.split(":")[4:6]
            access.append(self._access_entry(f"{name}-access-{account}-{principal.replace('/', '-')}", cluster, entry))
        if auto is not None and node_role is not None:
            # Auto Mode runs the CNI, kube-proxy, pod identity and CoreDNS itself: no managed add-on.
            if node_needs_own_access_entry(auto):
                self._auto_node_access(name, cluster, node_role)
        else:
            self.compute_dependencies = [self._addon(a) for a in MANAGED_ADDONS if a.before_compute]

        region = aws.config.region
        self.kubeconfig = pulumi.Output.secret(
            pulumi.Output.all(cluster.name, cluster.endpoint, cluster.certificate_authority.data).apply(
                lambda a: json.dumps(eks_kubeconfig(
                    a[0], a[1], a[2], region, profile=settings.profile, role_arn=settings.role_arn
                ))
            )
        )
        # Every Kubernetes object goes through this provider, so none is sent before the access it needs exists.
        self.provider = k8s.Provider(
            f"{name}-k8s", kubeconfig=self.kubeconfig, opts=pulumi.ResourceOptions(parent=self, depends_on=access)
        )

    def add_post_compute_addons(self, after: Sequence[pulumi.Resource]) -> list[pulumi.Resource]:
        """Declare the add-ons that run on nodes (CoreDNS), once `after` (the node groups) exist.

        Returns them, for what needs a working cluster; an existing cluster gets none.
        """
        if self._eks is None or isinstance(self._eks, EksAutoClusterConfig):
            return []
        return [
            self._addon(a, after)
            for a in MANAGED_ADDONS
            if not a.before_compute and self._eks.addons.enabled(a.name)
        ]

    def _auto_node_role(self, name: str) -> aws.iam.Role:
        """The role Auto Mode's nodes (built-in pools and our NodeClass) run as: minimal worker policy, ECR pull."""
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(autoname_within(f"{name}-auto-node", IAM_ROLE_NAME_MAX), assume_role_policy=_EC2_TRUST,
                            opts=child)
        for arn in AUTO_MODE_NODE_POLICIES:
            aws.iam.RolePolicyAttachment(f"{name}-auto-node-{arn.rsplit('/', 1)[1]}", role=role.name, policy_arn=arn,
                                         opts=child)
        self.auto_node_role_name = role.name
        return role

    def _auto_node_access(self, name: str, cluster: aws.eks.Cluster, node_role: aws.iam.Role) -> None:
        """The access entry (type EC2) and Auto Mode node policy our NodeClass's nodes join with."""
        entry = node_access_entry_request(PENDING_OUTPUT, PENDING_OUTPUT)
        association = node_access_policy_request(PENDING_OUTPUT, PENDING_OUTPUT)
        access_entry = aws.eks.AccessEntry(
            f"{name}-auto-node-access", cluster_name=cluster.name, principal_arn=node_role.arn, type=entry["type"],
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.eks.AccessPolicyAssociation(
            f"{name}-auto-node-access-policy", cluster_name=cluster.name, principal_arn=node_role.arn,
            policy_arn=association["policyArn"], access_scope={"type": association["accessScope"]["type"]},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[access_entry]),
        )

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

    def _endpoint_access(
        self, name: str, config: EksClusterConfig
    ) -> tuple[aws.ec2.SecurityGroup, list[aws.vpc.SecurityGroupIngressRule]]:
        """The control plane's own security group and its port-443 rules (`aws/endpoint_access.py`)."""
        vpc_id = aws.ec2.get_subnet_output(id=config.subnet_ids[0]).vpc_id
        group_request = endpoint_security_group_request(config, PENDING_OUTPUT)
        group = aws.ec2.SecurityGroup(
            f"{name}-endpoint-access",
            name=group_request["GroupName"],
            description=group_request["Description"],
            vpc_id=vpc_id,
            opts=pulumi.ResourceOptions(parent=self),
        )
        rules = []
        for request in endpoint_ingress_requests(config, PENDING_OUTPUT):
            (permission,) = request["IpPermissions"]
            sources: list[dict[str, str]] = [*permission.get("IpRanges", []), *permission.get("Ipv6Ranges", []),
                                             *permission.get("UserIdGroupPairs", [])]
            (source,) = sources
            source_id = source.get("CidrIp") or source.get("CidrIpv6") or source["GroupId"]
            rules.append(aws.vpc.SecurityGroupIngressRule(
                f"{name}-endpoint-from-{source_id.replace('/', '-').replace(':', '-')}",
                security_group_id=group.id,
                ip_protocol=permission["IpProtocol"],
                from_port=permission["FromPort"],
                to_port=permission["ToPort"],
                cidr_ipv4=source.get("CidrIp"),
                cidr_ipv6=source.get("CidrIpv6"),
                referenced_security_group_id=source.get("GroupId"),
                description=source["Description"],
                opts=pulumi.ResourceOptions(parent=self),
            ))
        return group, rules

    def _access_entry(
        self, resource_name: str, cluster: aws.eks.Cluster, entry: AccessEntryConfig
    ) -> aws.eks.AccessPolicyAssociation:
        """The entry and its policy association; returns the association, after which the principal has access."""
        entry_request = create_access_entry_request(PENDING_OUTPUT, entry)
        association = associate_access_policy_request(PENDING_OUTPUT, entry)
        access_entry = aws.eks.AccessEntry(
            resource_name,
            cluster_name=cluster.name,
            principal_arn=entry_request["principalArn"],
            type=entry_request["type"],
            opts=pulumi.ResourceOptions(parent=self),
        )
        scope = association["accessScope"]
        return aws.eks.AccessPolicyAssociation(
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


def _auto_mode_kwargs(request: dict[str, Any], node_role_arn: pulumi.Output[str]) -> dict[str, Any]:
    """The Auto Mode members of the CreateCluster request as `aws.eks.Cluster` arguments."""
    compute = request["computeConfig"]
    return {
        "compute_config": {
            "enabled": compute["enabled"], "node_pools": compute["nodePools"],
            "node_role_arn": node_role_arn if "nodeRoleArn" in compute else None,
        },
        "kubernetes_network_config": {"elastic_load_balancing": {
            "enabled": request["kubernetesNetworkConfig"]["elasticLoadBalancing"]["enabled"]}},
        "storage_config": {"block_storage": {"enabled": request["storageConfig"]["blockStorage"]["enabled"]}},
    }


def _creator_entry(config: EksClusterConfig) -> AccessEntryConfig | None:
    """The deploying identity's cluster-admin entry (None with `creatorAdmin: false`): `creatorPrincipalArn`, or
    the role or user behind STS's caller identity, asked once while the program runs."""
    if not config.creator_admin:
        return None
    try:
        arn = config.creator_principal_arn or creator_principal_arn(aws.get_caller_identity().arn)
    except ValueError as error:
        raise pulumi.RunError(str(error)) from None
    if arn in {e.principal_arn for e in config.access}:
        raise pulumi.RunError(
            f"cluster.access lists {arn}, the identity running this deploy, which cluster.creatorAdmin already makes "
            "cluster admin (EKS keeps one entry per principal): drop it from cluster.access or set "
            "cluster.creatorAdmin: false"
        )
    return creator_access_entry(arn)


def _cluster_kwargs(request: dict[str, Any], *, security_group_ids: list[pulumi.Output[str]]) -> dict[str, Any]:
    """The CreateCluster request's plain fields as `aws.eks.Cluster` arguments (the groups: ours, made first)."""
    vpc = request["resourcesVpcConfig"]
    access = request["accessConfig"]
    logging = request.get("logging", {}).get("clusterLogging", [])
    return {
        "name": request["name"],
        "version": request["version"],
        "vpc_config": {
            "subnet_ids": vpc["subnetIds"],
            "security_group_ids": security_group_ids,
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
