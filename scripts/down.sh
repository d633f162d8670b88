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
  # The namespace controller finishes no deletion while an aggregated API (metrics.k8s.io) is unavailable, and
  # pulumi would wait on it. This cluster is about to go, so an APIService nobody serves is dropped first.
  for api in $(kubectl get apiservices -o jsonpath='{range .items[?(@.spec.service)]}{.metadata.name}={.status.conditions[?(@.type=="Available")].status}{"\n"}{end}' 2>/dev/null \
      | awk -F= '$2 != "True" {print $1}'); do
    log "==> dropping unavailable aggregated API $api so namespaces can be deleted"
    kubectl delete apiservice "$api" --wait=false >/dev/null 2>&1 || true
  done
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
