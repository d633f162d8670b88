"""One resource per policy of the pack, breaking that policy and no other, named `gnp-<policy>`. The provider
writes the objects into config `renderDir` instead of sending them to a cluster: the policies see the same inputs."""

import copy

import pulumi
import pulumi_kubernetes as k8s

config = pulumi.Config()
provider = k8s.Provider("render", render_yaml_to_directory=config.require("renderDir"))
opts = pulumi.ResourceOptions(provider=provider)

COMPLIANT = {
    "name": "app",
    "image": "registry.k8s.io/pause:3.10",
    "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"memory": "32Mi"}},
    "securityContext": {"runAsNonRoot": True, "runAsUser": 65532, "allowPrivilegeEscalation": False},
}


def breaking(policy: str) -> dict:
    """The compliant container, changed so that it breaks `policy` only."""
    container = copy.deepcopy(COMPLIANT)
    if policy == "containers-set-resources":
        del container["resources"]["requests"]["cpu"]
    elif policy == "gpu-pods-tolerate-gpu-taint":
        container["resources"]["limits"]["nvidia.com/gpu"] = "1"
    elif policy == "images-pinned":
        container["image"] = "registry.k8s.io/pause:latest"
    elif policy == "containers-run-as-non-root":
        container["securityContext"] = {"allowPrivilegeEscalation": False}
    return container


for policy in ("containers-set-resources", "gpu-pods-tolerate-gpu-taint", "images-pinned",
               "containers-run-as-non-root"):
    name = f"gnp-{policy}"
    labels = {"app": name}
    k8s.apps.v1.Deployment(
        name,
        metadata={"namespace": "default", "name": name},
        spec={"selector": {"matchLabels": labels},
              "template": {"metadata": {"labels": labels}, "spec": {"containers": [breaking(policy)]}}},
        opts=opts,
    )
k8s.scheduling.v1.PriorityClass("gnp-priority-class-not-global-default",
                                metadata={"name": "gnp-priority-class-not-global-default"}, value=10,
                                global_default=True, opts=opts)
