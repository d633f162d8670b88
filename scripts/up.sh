#!/usr/bin/env bash
# `make up`: from a fresh machine to the GPU platform deployed by a real `pulumi up` on the local cluster.
#   set-up (.venv) -> Pulumi toolchain (built once, cached) -> local cluster (control plane built once, cached)
#   -> pulumi up --stack local --yes, guarded by the policy pack -> GPU readout (gpu-node-agent cluster)
set -euo pipefail
source "$(dirname "$0")/../tools/lib.sh"
cd "$GNP_ROOT"
STACK=local

step() { log "==> $*"; }

step "1/5 set-up: .venv and packages"
scripts/setup.sh

step "2/5 Pulumi toolchain (first run builds it from Go modules)"
tools/pulumi/build.sh >/dev/null

step "3/5 local cluster with the $STACK stack's simulated nodes (first run builds the control plane)"
was_running=true
scripts/cluster.sh status >/dev/null 2>&1 || was_running=false
scripts/cluster.sh up

step "4/5 pulumi up --stack $STACK --policy-pack policies"
source scripts/pulumi-env.sh
pulumi stack select --create "$STACK" >/dev/null
up_args=(--stack "$STACK" --yes --policy-pack policies)
# A cluster started just now has none of the objects an earlier deployment left in the stack's state.
$was_running || up_args+=(--refresh)
pulumi up "${up_args[@]}"

step "5/5 GPU readout, and where the platform's pods run (GPU daemons on GPU nodes only, add-ons off them)"
.venv/bin/gpu-node-agent cluster --kubeconfig "$GNP_STATE/kubeconfig"
echo
kubectl --kubeconfig "$GNP_STATE/kubeconfig" get pods -A --sort-by=.spec.nodeName \
  -o custom-columns='NODE:.spec.nodeName,NAMESPACE:.metadata.namespace,POD:.metadata.name,PHASE:.status.phase'
log "done: kubectl --kubeconfig $GNP_STATE/kubeconfig get nodes,pods -A  |  make down to stop"
