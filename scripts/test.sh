#!/usr/bin/env bash
# The README's test command: Python set-up, the Go-built toolchain (built into the cache, or reused), then
# every test: unit, schema, node agent, the local control plane proofs and the real `pulumi up` cycle.
# GNP_SKIP_CLUSTER=1 skips the tests (and builds) that need the local control plane and Pulumi CLI.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
if [ "${GNP_SKIP_CLUSTER:-0}" != 1 ]; then
  for build in tools/controlplane/build.sh tools/pulumi/build.sh; do
    [ -x "$build" ] && "$build"
  done
fi
exec .venv/bin/python -m pytest "$@"
