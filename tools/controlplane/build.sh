#!/usr/bin/env bash
# Builds (or finds) the local control plane: kube-apiserver, kube-controller-manager, kube-scheduler, kubectl,
# etcd, kwok, kwokctl and metrics-server, at the versions pinned by the wrapper modules next to this script
# (tools/controlplane/sets.sh), and the local Karpenter (tools/karpenter/sets.sh); tools/build.sh does the
# building and shows progress.
#
# stdout: `export GNP_<BINARY>=/path` lines (eval them, or source paths.sh); progress goes to stderr.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
"$GNP_ROOT/tools/build.sh" kube etcd kwok metrics_server karpenter
load_sets
controlplane_exports
karpenter_exports
