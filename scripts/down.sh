#!/usr/bin/env bash
# `make down`: destroy the local stack's resources, then stop the local cluster. Leaves nothing running.
set -euo pipefail
source "$(dirname "$0")/../tools/lib.sh"
cd "$GNP_ROOT"
STACK=local

if scripts/cluster.sh status >/dev/null 2>&1 && source scripts/pulumi-env.sh \
    && pulumi stack select "$STACK" >/dev/null 2>&1; then
  log "==> pulumi destroy --stack $STACK"
  pulumi destroy --stack "$STACK" --yes
else
  log "==> no running cluster or no $STACK stack: nothing to destroy"
fi
log "==> stopping the local cluster"
scripts/cluster.sh down
