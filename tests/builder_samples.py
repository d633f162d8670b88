"""Sample configs of the object builders, as a stack file would give them: each builder's own tests pick from these,
and the shared conformance test (test_object_builders.py) runs every one of them through the same rules."""

from __future__ import annotations

from typing import Any

from gpu_node_pools.config.priority_classes import MAX_USER_PRIORITY

DEVICE_PLUGIN: dict[str, dict[str, Any]] = {
    "default": {},
    "time-slicing": {"timeSlicing": {"replicas": 4}},
    "time-slicing-strict": {"timeSlicing": {"replicas": 2, "failRequestsGreaterThanOne": True}},
    "digest": {"imageDigest": "sha256:" + "d" * 64},
    "extras": {
        "namespace": "gpu-system",
        "image": "registry.example.com/nvidia/k8s-device-plugin@sha256:" + "a" * 64,
        "resources": {"cpu": "10m", "memory": "32Mi", "cpuLimit": "1", "memoryLimit": "128Mi"},
        "extraTolerations": [{"key": "spot", "operator": "Equal", "value": "true", "effect": "NoSchedule"}],
    },
}

METRICS_SERVER: dict[str, dict[str, Any]] = {
    "default": {},
    "ha": {"ha": True},
    "unregistered": {"registerApiService": False},
    "custom": {
        "image": "registry.example.com/metrics-server:v0.8.1",
        "imageDigest": "sha256:" + "f" * 64,
        "extraArgs": ["--kubelet-insecure-tls", "--metric-resolution=30s"],
        "resources": {"cpu": "200m", "memory": "300Mi", "cpuLimit": "2", "memoryLimit": "1Gi"},
    },
}

# The agent has no default image; every sample runs this one unless it names its own.
NODE_AGENT_IMAGE = "registry.example.com/gpu-node-agent:0.1.0"
NODE_AGENT: dict[str, dict[str, Any]] = {
    "default": {},
    "gfd-labels": {"gfdLabels": True},
    "gpu-operator-runtime-class": {"runtimeClassName": "nvidia"},
    "pod-resources": {"podResources": True},
    "custom": {
        "namespace": "monitoring-gpu",
        "image": "registry.example.com/gpu-node-agent@sha256:" + "b" * 64,
        "prefix": "gpu.example.com/",
        "port": 19402,
        "metricsScrapers": ["prometheus"],
        "intervalSeconds": 30,
        "settleSeconds": 45,
        "minWriteIntervalSeconds": 60,
        "nvidiaVisibleDevices": "0,1",
        "resources": {"cpu": "10m", "memory": "48Mi", "cpuLimit": "100m", "memoryLimit": "96Mi"},
        "extraTolerations": [{"key": "spot", "operator": "Equal", "value": "true", "effect": "NoSchedule"}],
    },
}

PRIORITY_CLASSES: dict[str, dict[str, Any]] = {
    "default": {},
    "custom": {
        "classes": [
            {"name": "inference", "value": MAX_USER_PRIORITY, "description": "top"},
            {"name": "research.example.com", "value": -10, "preemptionPolicy": "Never"},
            {"name": "everything-else", "value": 0, "globalDefault": True},
        ]
    },
}

TENANTS: dict[str, dict[str, Any]] = {
    "minimal": {"name": "web"},
    "gpu-team": {
        "name": "ml-research",
        "gpuAccess": True,
        "quota": {"requestsCpu": "64", "requestsMemory": "256Gi", "pods": 200, "gpus": 8},
    },
    "everything": {
        "name": "batch",
        "podSecurity": "baseline",
        "podSecurityVersion": "v1.32",
        "limitRange": {
            "defaultRequest": {"cpu": "250m", "memory": "256Mi"},
            "default": {"cpu": "2", "memory": "2Gi"},
            "max": {"cpu": "16", "memory": "64Gi"},
        },
        "quota": {"limitsCpu": "128", "limitsMemory": "512Gi"},
        "gpuAccess": True,
        "defaultDenyNetworkPolicy": False,
    },
}
