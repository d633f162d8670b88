#!/usr/bin/env bash
# `make up`: from a fresh machine to the GPU platform deployed by a real `pulumi up` on the local cluster.
#   set-up (.venv) -> toolchain (built once from Go modules, cached) -> local cluster (every part serving)
#   -> pulumi up --stack local --yes, guarded by the policy pack -> checks -> GPU readout
# It says done only when every part it started serves; otherwise it names what does not and exits non-zero.
set -euo pipefail
source "$(dirname "$0")/../tools/lib.sh"
cd "$GNP_ROOT"
STACK=local

step() { log "==> $*"; }

step "1/6 set-up: .venv and packages"
scripts/setup.sh

step "2/6 toolchain: control plane, kubectl, Pulumi CLI and Kubernetes provider (first run builds them)"
tools/build.sh

step "3/6 local cluster with the $STACK stack's simulated nodes"
was_running=true
scripts/cluster.sh status >/dev/null 2>&1 || was_running=false
scripts/cluster.sh up

step "4/6 pulumi up --stack $STACK --policy-pack policies"
source scripts/env.sh
pulumi stack select --create "$STACK" >/dev/null
up_args=(--stack "$STACK" --yes --policy-pack policies)
# A cluster started just now has none of the objects an earlier deployment left in the stack's state.
$was_running || up_args+=(--refresh)
pulumi up "${up_args[@]}"

step "5/6 checks: every cluster component running, nodes Ready, metrics API answering, the stack deployed"
scripts/cluster.sh check
# `pulumi up` waited for every workload it created; a preview with no changes says the stack is what the code says.
pulumi preview --stack "$STACK" --expect-no-changes --non-interactive >/dev/null \
  || die "pulumi preview --stack $STACK shows changes right after the update: the stack is not what the code declares"

step "6/6 GPU readout, and where the platform's pods run (GPU daemons on GPU nodes only, add-ons off them)"
.venv/bin/gpu-node-agent cluster --kubeconfig "$KUBECONFIG"
echo
kubectl get pods -A --sort-by=.spec.nodeName \
  -o custom-columns='NODE:.spec.nodeName,NAMESPACE:.metadata.namespace,POD:.metadata.name,PHASE:.status.phase'
log "done: every part serves. source scripts/env.sh; kubectl get nodes,pods -A  |  make down to stop"
