#!/usr/bin/env bash
# Builds prometheus and promtool into the cache when missing (through tools/build.sh), then prints
# `export GNP_PROMETHEUS=PATH` and `export GNP_PROMTOOL=PATH`, for `eval` by scripts and tests.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
"$GNP_ROOT/tools/build.sh" prometheus >&2
load_sets
prometheus_exports
