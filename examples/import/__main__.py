"""The README's example: another Pulumi project importing gpu-node-pools (kept identical by a test)."""

import pulumi
import pulumi_kubernetes as k8s

from gpu_node_pools import DevicePlugin, DevicePluginArgs, GpuPlatform, PlatformConfig

# 1. Everything: an EKS cluster, its pools and the in-cluster layer (same keys as the stack files).
platform = GpuPlatform("ml", PlatformConfig.model_validate({
    "cluster": {"mode": "eks", "name": "ml", "subnetIds": ["subnet-aaa", "subnet-bbb"],
                "publicAccessCidrs": ["198.51.100.0/24"]},  # who may reach the API endpoint (your network)
    "nodePools": [
        {"name": "general", "kind": "general", "instanceTypes": ["m7i.large"], "scaling": {"min": 2, "max": 4}},
        {"name": "gpu", "kind": "gpu", "instanceTypes": ["g6.xlarge"], "scaling": {"min": 0, "max": 4}},
    ],
    # The agent image `make image` built and `make image-push` pushed (none is published for you).
    "nodeAgent": {"image": "111122223333.dkr.ecr.us-west-2.amazonaws.com/gpu-node-agent:0.1.0"},
}))

# 2. Just the device plugin, into a cluster you already manage, fenced by your own taint.
provider = k8s.Provider("existing", kubeconfig="~/.kube/config")
DevicePlugin(
    "gpu",
    DevicePluginArgs(isolation={"gpuTaint": {"key": "workload", "value": "heavy", "effect": "NoSchedule"}}),
    pulumi.ResourceOptions(provider=provider),
)
