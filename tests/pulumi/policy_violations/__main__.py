"""A workload and a PriorityClass that satisfy every policy of the pack, except the one named by config `case`."""

import pulumi
import pulumi_kubernetes as k8s

config = pulumi.Config()
case = config.require("case")
provider = k8s.Provider("local", kubeconfig=config.require("kubeconfig"))
opts = pulumi.ResourceOptions(provider=provider)

container = {
    "name": "app",
    "image": "registry.k8s.io/pause:3.10",
    "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"memory": "32Mi"}},
    "securityContext": {"runAsNonRoot": True, "runAsUser": 65532, "allowPrivilegeEscalation": False},
}
if case == "containers-set-resources":
    del container["resources"]["requests"]["cpu"]
elif case == "gpu-pods-tolerate-gpu-taint":
    container["resources"]["limits"]["nvidia.com/gpu"] = "1"
elif case == "images-pinned":
    container["image"] = "registry.k8s.io/pause:latest"
elif case == "containers-run-as-non-root":
    container["securityContext"] = {"allowPrivilegeEscalation": False}
elif case != "none" and case != "priority-class-not-global-default":
    raise ValueError(f"config `case`: no such case {case!r}")

labels = {"app": "gnp-policy-violations"}
k8s.apps.v1.Deployment(
    "workload",
    metadata={"namespace": "default", "name": "gnp-policy-violations"},
    spec={"selector": {"matchLabels": labels},
          "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}}},
    opts=opts,
)
k8s.scheduling.v1.PriorityClass(
    "priority",
    metadata={"name": "gnp-policy-violations"},
    value=10,
    global_default=case == "priority-class-not-global-default",
    opts=opts,
)
