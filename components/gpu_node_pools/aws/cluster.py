"""A new cluster's EKS CreateCluster request, and the pieces created beside it: its log group and KMS grant.

The defaults follow terraform-aws-eks: access entries (API mode; the creator's admin entry is declared, not
bootstrapped: `bootstrapClusterCreatorAdminPermissions` would give it standing admin that no state shows), managed
add-ons instead of the self-managed ones EKS would install, Secrets envelope-encrypted with KMS, and the
control-plane log group created by us with a retention (EKS would create one that keeps logs forever).
"""

from __future__ import annotations

from typing import Any

from ..config.cluster import EksClusterConfig

__all__ = [
    "AUTHENTICATION_MODE",
    "cluster_encryption_policy",
    "control_plane_log_group_name",
    "deny_log_group_creation_policy",
    "create_cluster_request",
    "kms_key_description",
]

# Access entries only: the aws-auth ConfigMap is neither read nor needed.
AUTHENTICATION_MODE = "API"


def create_cluster_request(
    config: EksClusterConfig, *, role_arn: str, kms_key_arn: str, endpoint_security_group_id: str
) -> dict[str, Any]:
    """The EKS CreateCluster request for `config`, in the EKS API's own (camelCase) shape.

    `endpoint_security_group_id`: the group that admits `privateAccessCidrs`/`privateAccessSecurityGroupIds` to the
    private endpoint (`endpoint_access.py`); EKS adds its own cluster security group beside it."""
    vpc: dict[str, Any] = {
        "subnetIds": list(config.subnet_ids),
        "securityGroupIds": [endpoint_security_group_id],
        "endpointPublicAccess": config.endpoint_public_access,
        "endpointPrivateAccess": config.endpoint_private_access,
    }
    if config.public_access_cidrs is not None:
        vpc["publicAccessCidrs"] = list(config.public_access_cidrs)
    request: dict[str, Any] = {
        "name": config.name,
        "version": config.version,
        "roleArn": role_arn,
        "resourcesVpcConfig": vpc,
        "encryptionConfig": [{"resources": ["secrets"], "provider": {"keyArn": kms_key_arn}}],
        "accessConfig": {"authenticationMode": AUTHENTICATION_MODE, "bootstrapClusterCreatorAdminPermissions": False},
        # The managed add-ons replace what EKS would otherwise install unmanaged (and never update).
        "bootstrapSelfManagedAddons": False,
        "upgradePolicy": {"supportType": config.upgrade_policy},
        "deletionProtection": config.deletion_protection,
    }
    if config.enabled_log_types:
        request["logging"] = {"clusterLogging": [{"types": list(config.enabled_log_types), "enabled": True}]}
    return request


def control_plane_log_group_name(cluster_name: str) -> str:
    """The log group EKS writes control-plane logs to; it uses ours when it exists before the cluster."""
    return f"/aws/eks/{cluster_name}/cluster"


def kms_key_description(cluster_name: str) -> str:
    return f"Envelope encryption of Kubernetes Secrets in EKS cluster {cluster_name}"


def cluster_encryption_policy(kms_key_arn: str) -> dict[str, Any]:
    """What the cluster role needs on the key to encrypt Secrets (terraform-aws-eks' cluster_encryption policy)."""
    return {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ListGrants", "kms:DescribeKey"],
            "Resource": kms_key_arn,
        }],
    }


def deny_log_group_creation_policy() -> dict[str, Any]:
    """The cluster role may not create log groups (terraform-aws-eks does the same): after a destroy, EKS would
    otherwise re-create `/aws/eks/<name>/cluster` with no retention, and the next `up` of that name would fail on
    the group that already exists. An explicit deny wins over whatever the role's managed policies allow."""
    return {
        "Version": "2012-10-17",
        "Statement": [{"Sid": "DenyCreateLogGroup", "Effect": "Deny", "Action": ["logs:CreateLogGroup"],
                       "Resource": "*"}],
    }
