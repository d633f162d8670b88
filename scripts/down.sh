#!/usr/bin/env bash
# `make down`: destroy the local stack's resources, then stop the local cluster. Leaves nothing running, even
# when the destroy fails or the cluster is half dead: the cluster is stopped and its state deleted regardless,
# and the exit status says whether the destroy worked.
set -uo pipefail
source "$(dirname "$0")/../tools/lib.sh"
cd "$GNP_ROOT"
STACK=local
DESTROY_TIMEOUT="${GNP_DESTROY_TIMEOUT:-300}"
destroyed=true

if scripts/cluster.sh status >/dev/null 2>&1 && source scripts/env.sh \
    && pulumi stack select "$STACK" >/dev/null 2>&1; then
  # A metrics-server that is dead (or dies) during the destroy would hang namespace deletion: this cluster is
  # about to go, so its aggregated APIs are unregistered first (a stack-owned one is then already gone).
  scripts/cluster.sh drop-aggregated-apis || true
  log "==> pulumi destroy --stack $STACK (at most ${DESTROY_TIMEOUT}s)"
  if ! timeout "$DESTROY_TIMEOUT" pulumi destroy --stack "$STACK" --yes --non-interactive; then
    destroyed=false
    log "==> pulumi destroy failed or timed out; the cluster goes anyway (the next make up refreshes the stack)"
    pulumi cancel --stack "$STACK" --yes >/dev/null 2>&1 || true  # a killed update leaves its lock behind
  fi
else
  log "==> no running cluster or no $STACK stack: nothing to destroy"
fi
log "==> stopping the local cluster"
scripts/cluster.sh down || die "could not stop the local cluster (above)"
$destroyed || die "pulumi destroy failed (above); the cluster and its processes are gone all the same"
