"""The user data that splits a MIG pool's GPUs at boot, before the kubelet (and so the device plugin) starts.

AL2023 takes MIME multi-part user data: EKS (managed node groups) and Karpenter merge their own `NodeConfig` part
with ours, and cloud-init runs a `text/x-shellscript` part before `nodeadm-run` starts the kubelet. A launch template
takes the document base64-encoded (`mig_user_data`); an EC2NodeClass's `userData` takes it as text
(`mig_mime_document`): Karpenter's AL2023 bootstrap (aws/karpenter-provider-aws,
pkg/providers/amifamily/bootstrap/nodeadm.go) reads a document starting `MIME-Version:` as a multipart archive,
puts its own NodeConfig part first, keeps ours after it, and encodes the whole. The script
turns MIG mode on for every GPU (resetting them, which is safe before any workload exists), removes whatever
instances an earlier boot left, and creates the pool's layout on every GPU with `nvidia-smi mig -cgi ... -C`
(a GPU instance and its compute instance per profile). We use the driver's own tool rather than NVIDIA's
mig-parted: nothing to install on the node, and one layout for all GPUs is all a pool needs.
"""

from __future__ import annotations

import base64

from ..config.sharing import MigConfig
from ..facts.mig import MigGpu

__all__ = ["MIME_BOUNDARY", "mig_mime_document", "mig_script", "mig_user_data"]

MIME_BOUNDARY = "==GPU-NODE-POOLS-MIG=="


def mig_script(mig: MigConfig, gpu: MigGpu) -> str:
    """The boot script for `mig`'s layout on GPUs of model `gpu`."""
    profiles = ",".join(mig.profiles_per_gpu(gpu))
    return "\n".join([
        "#!/bin/bash",
        f"# gpu-node-pools: MIG layout {mig.layout_name()} ({gpu.model}), strategy {mig.strategy}",
        "set -euo pipefail",
        "nvidia-smi -mig 1",
        # Some GPUs only report MIG mode as pending until reset; at boot nothing holds them.
        "nvidia-smi --gpu-reset || true",
        "nvidia-smi mig -dci || true",
        "nvidia-smi mig -dgi || true",
        f"nvidia-smi mig -cgi {profiles} -C",
        "",
    ])


def mig_mime_document(mig: MigConfig, gpu: MigGpu) -> str:
    """The MIME multi-part document holding the boot script, as text (an EC2NodeClass's `userData`)."""
    return "\n".join([
        "MIME-Version: 1.0",
        f'Content-Type: multipart/mixed; boundary="{MIME_BOUNDARY}"',
        "",
        f"--{MIME_BOUNDARY}",
        'Content-Type: text/x-shellscript; charset="us-ascii"',
        "",
        mig_script(mig, gpu),
        f"--{MIME_BOUNDARY}--",
        "",
    ])


def mig_user_data(mig: MigConfig, gpu: MigGpu) -> str:
    """Base64 MIME multi-part user data holding the boot script, for EC2's LaunchTemplateData.UserData."""
    return base64.b64encode(mig_mime_document(mig, gpu).encode()).decode()
