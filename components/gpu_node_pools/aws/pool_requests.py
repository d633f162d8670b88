"""A stack's managed pools as the AWS create requests a deploy sends: EKS CreateNodegroup, EC2 CreateLaunchTemplate.

Values that exist only after a deploy (the node role, the launch template's id) are named placeholders.
`gpu-node-pools pools --json` and `--launch-templates` print these; the tests check them against botocore's models.
"""

from __future__ import annotations

from typing import Any

from ..config.cluster import EksClusterConfig
from ..config.platform import PlatformConfig, cluster_kubernetes_version
from .bottlerocket import bottlerocket_nvidia_settings
from .launch_template import launch_template_data
from .nodegroup import nodegroup_request

__all__ = ["launch_template_requests", "nodegroup_requests"]


def nodegroup_requests(config: PlatformConfig) -> list[dict[str, Any]]:
    """One EKS CreateNodegroup request per managed pool. Values only known after deploy are named placeholders."""
    cluster = config.cluster
    if isinstance(cluster, EksClusterConfig):
        cluster_name, subnets = cluster.name, cluster.subnet_ids
    else:  # existing cluster: the pools describe nodes that are already there (simulated ones, locally)
        cluster_name, subnets = cluster.context or "existing-cluster", []
    return [
        nodegroup_request(
            pool,
            config.contract,
            cluster_name=cluster_name,
            subnet_ids=subnets,
            node_role_arn=f"<created on deploy: IAM role of node pool {pool.name}>",
            launch_template={
                "id": f"<created on deploy: launch template of node pool {pool.name}>",
                "version": "<its latest version>",
            },
            kubernetes_version=cluster_kubernetes_version(config),
        )
        for pool in config.managed_pools
    ]


def launch_template_requests(config: PlatformConfig) -> list[dict[str, Any]]:
    """One EC2 CreateLaunchTemplate request per managed pool. Bottlerocket NVIDIA pools carry the platform's settings."""
    settings = bottlerocket_nvidia_settings(config.device_plugin, config.node_agent)
    return [
        {
            "LaunchTemplateName": f"<named on deploy: launch template of node pool {pool.name}>",
            "LaunchTemplateData": launch_template_data(pool, bottlerocket_settings=settings),
        }
        for pool in config.managed_pools
    ]
