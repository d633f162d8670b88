#!/usr/bin/env bash
# The README's test command: Python set-up, the Go-built toolchain (built into the cache with one progress line
# per step, or reused), then every test: unit, schema, node agent, the local control plane proofs and the real
# `pulumi up` cycle. GNP_SKIP_CLUSTER=1 skips the toolchain build and the tests that need it (markers toolchain,
# cluster and pulumi), GNP_SKIP_IMAGE=1 the image tier, GNP_SKIP_NETWORK=1 the tests that reach a registry
# (tests/conftest.py), GNP_SKIP_BROWSER=1 the headless-browser tests (Debian's chromium, installed here with
# apt-get when missing: scripts/browser.sh). `make check` runs only the tests that need none of these.
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/lib.sh
log "set-up: .venv and packages"
scripts/setup.sh
scripts/browser.sh
if [ "${GNP_SKIP_CLUSTER:-0}" != 1 ]; then
  log "toolchain: control plane, kubectl and Pulumi, built once from Go modules and cached in $GNP_CACHE"
  tools/build.sh
fi
log "tests (the control-plane and Pulumi phases announce themselves)"
# Three processes (pytest-xdist), each with its own cluster: much of the suite waits on the engine, the scheduler and
# Karpenter rather than on a core (three beat two and four on 2 cores: docs/local-cluster.md, Timings). Groups are
# handed out in the order tests/conftest.py sets (engine tests first, so no cluster has the layer applied by kubectl
# before the engine deploys it). GNP_TEST_WORKERS=0 runs everything in this one process.
exec .venv/bin/python -m pytest -n "${GNP_TEST_WORKERS:-3}" --dist loadgroup --no-loadscope-reorder "$@"
