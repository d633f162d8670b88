"""The stack program: validate this stack's config, then declare the whole GPU platform from it."""

from pathlib import Path

import pulumi

from gpu_node_pools import ConfigError, GpuPlatform
from stack_config import (
    aws_cli_problem,
    aws_credentials_problem,
    example_values_problem,
    load_running_stack,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent

try:
    config = load_running_stack(PROJECT_ROOT)
except ConfigError as error:
    raise pulumi.RunError(str(error)) from None  # before any resource is registered
if config.on_eks and (problem := aws_credentials_problem() or aws_cli_problem() or example_values_problem(config)):
    raise pulumi.RunError(problem)

platform = GpuPlatform(pulumi.get_stack(), config, project_root=PROJECT_ROOT)

pulumi.export("gpuTaint", str(config.contract.gpu_taint))
pulumi.export("clusterName", platform.cluster.name)
pulumi.export("kubeconfig", platform.cluster.kubeconfig)
pulumi.export("nodeGroups", [pool.node_group_name for pool in platform.node_pools])
# Every in-cluster object of every part (`parts.IN_CLUSTER_PARTS`), as `Kind/namespace/name`.
pulumi.export("inClusterObjects", platform.object_ids)
