"""`Cluster`: a new EKS cluster (IAM role, cluster, kubeconfig, Kubernetes provider) or an existing one."""

from __future__ import annotations

import json
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from ..aws.kubeconfig import eks_kubeconfig
from ..aws.provider_settings import AwsProviderSettings
from ..config.cluster import ClusterConfig, EksClusterConfig
from ._running_stack import running_aws_settings

__all__ = ["CLUSTER_ROLE_POLICY", "Cluster"]

CLUSTER_ROLE_POLICY = "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"
_EKS_TRUST = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "eks.amazonaws.com"}, "Action": "sts:AssumeRole"}],
})


class Cluster(pulumi.ComponentResource):
    """Where the in-cluster layer goes. `provider` deploys into it; `name` is the EKS cluster name (or None)."""

    provider: k8s.Provider
    name: pulumi.Output[str] | None
    kubeconfig: pulumi.Output[str] | None

    def __init__(
        self,
        name: str,
        config: ClusterConfig,
        opts: pulumi.ResourceOptions | None = None,
        *,
        project_root: Path | None = None,
        aws_settings: AwsProviderSettings | None = None,
    ) -> None:
        """`aws_settings`: the aws provider's identity (default: the running stack's `aws:` keys)."""
        super().__init__("gpu-node-pools:index:Cluster", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        if isinstance(config, EksClusterConfig):
            role = aws.iam.Role(f"{name}-cluster", assume_role_policy=_EKS_TRUST, opts=child)
            attachment = aws.iam.RolePolicyAttachment(
                f"{name}-cluster-policy", role=role.name, policy_arn=CLUSTER_ROLE_POLICY, opts=child
            )
            cluster = aws.eks.Cluster(
                name,
                name=config.name,
                role_arn=role.arn,
                version=config.version,
                vpc_config={
                    "subnet_ids": config.subnet_ids,
                    "endpoint_private_access": config.endpoint_private_access,
                    "endpoint_public_access": config.endpoint_public_access,
                    "public_access_cidrs": config.public_access_cidrs,
                },
                enabled_cluster_log_types=config.enabled_log_types,
                access_config={"authentication_mode": "API_AND_CONFIG_MAP"},
                opts=pulumi.ResourceOptions(parent=self, depends_on=[attachment]),
            )
            region = aws.config.region
            settings = aws_settings or running_aws_settings()
            self.name = cluster.name
            self.kubeconfig = pulumi.Output.secret(
                pulumi.Output.all(cluster.name, cluster.endpoint, cluster.certificate_authority.data).apply(
                    lambda a: json.dumps(eks_kubeconfig(
                        a[0], a[1], a[2], region, profile=settings.profile, role_arn=settings.role_arn
                    ))
                )
            )
            self.provider = k8s.Provider(f"{name}-k8s", kubeconfig=self.kubeconfig, opts=child)
        else:
            # An existing cluster: a path is handed to the provider as is, so no credential enters the state.
            path = Path(config.kubeconfig).expanduser()
            if not path.is_absolute() and project_root is not None:
                path = project_root / path
            self.name = None
            self.kubeconfig = None
            self.provider = k8s.Provider(f"{name}-k8s", kubeconfig=str(path), context=config.context, opts=child)
        self.register_outputs({"name": self.name})
