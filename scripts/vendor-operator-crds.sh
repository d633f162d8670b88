#!/usr/bin/env bash
# Copies prometheus-operator's PrometheusRule and PodMonitor CRDs, at the version tools/prometheus/sets.sh pins
# (PROMETHEUS_OPERATOR_VERSION), from the operator's Go module into tests/data/crds/prometheus-operator-<version>/,
# where the schema tests read them: no test downloads anything. Run it after moving the pin, then commit the folder.
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/lib.sh
load_sets
src="$(prometheus_operator_crds)"
dest="tests/data/crds/prometheus-operator-$PROMETHEUS_OPERATOR_VERSION"
rm -rf tests/data/crds/prometheus-operator-*
mkdir -p "$dest"
for kind in prometheusrules podmonitors; do
  install -m 644 "$src/monitoring.coreos.com_$kind.yaml" "$dest/"
done
cat > "$dest/SOURCE.md" <<MD
# prometheus-operator $PROMETHEUS_OPERATOR_VERSION CRDs

Copied unchanged from the Go module \`$PROMETHEUS_OPERATOR_MODULE@$PROMETHEUS_OPERATOR_VERSION\`
(\`example/prometheus-operator-crd/\`) by \`make operator-crds\`: the CRDs of the two kinds we build, PrometheusRule and
PodMonitor, for the schema tests (tests/k8s_schema.py). The operator itself is not deployed by this project.
MD
log "vendored $PROMETHEUS_OPERATOR_MODULE@$PROMETHEUS_OPERATOR_VERSION's CRDs into $dest"
