# The Prometheus server and promtool, for the alert-rule tests (promtool check/test rules, check metrics) and
# the local stack's Prometheus. Sourced by tools/build.sh through load_sets; defines variables and functions
# only. The set interface is described in tools/build.sh.
#
# Only the two binaries, built with the `remove_all_sd` tag (prometheus' plugins/*.go): the cloud and
# orchestrator service-discovery plugins and their SDKs are left out; file, http and static discovery stay,
# which is all the local stack and the tests use. The web UI is built from the module's source with pnpm and
# embedded (`builtinassets`, tools/prometheus/ui.sh): the module ships no built UI, and without it every UI page
# answers 500. A prometheus/promtool on PATH at the pinned version is used instead of building.

GNP_PROMETHEUS_TOOLS="$GNP_ROOT/tools/prometheus"
PROMETHEUS_VERSION="$(awk '$1 == "github.com/prometheus/prometheus" {print $2; exit}' \
  "$GNP_PROMETHEUS_TOOLS/mod/go.mod")"
# Prometheus v0.316.0 is Prometheus 3.16.0 (its module versions are v0.<major*100+minor>.<patch>).
PROMETHEUS_RELEASE="$(v="${PROMETHEUS_VERSION#v0.}"; printf '3.%d.%s' "$(( ${v%%.*} - 300 ))" "${v#*.}")"
# prometheus-operator's CRDs (example/prometheus-operator-crd), to schema-check our PrometheusRule and PodMonitor.
# Only read from the module cache, never built.
PROMETHEUS_OPERATOR_MODULE=github.com/prometheus-operator/prometheus-operator
PROMETHEUS_OPERATOR_VERSION=v0.85.0
PROMETHEUS_PKGS=(github.com/prometheus/prometheus/cmd/prometheus github.com/prometheus/prometheus/cmd/promtool)
source "$GNP_PROMETHEUS_TOOLS/ui.sh"

GNP_SETS+=(prometheus)
SET_LABEL[prometheus]="prometheus, promtool $PROMETHEUS_RELEASE"
# Measured cold, alone (empty GNP_CACHE, module and Go build caches; the npm and pnpm caches live in GNP_CACHE) on 2
# cores shared with other work (load average 7 to 12): 9 min 56 s. The UI part alone, cold: 37 s (Node and pnpm
# from npm 7 s, pnpm install, vite build, gzip). Before the UI, on a quieter machine, the Go part took 4 min 31 s.
SET_GUESS[prometheus]=360
PROMETHEUS_TAGS="remove_all_sd builtinassets"
# Keyed by the wrapper's go.mod/go.sum, the build tags and what builds the UI (Node.js, pnpm, the lock-file
# patch) too, so a change of any builds anew.
SET_DIR[prometheus]="$(cache_bin_dir prometheus "$PROMETHEUS_VERSION-$( { cat "$GNP_PROMETHEUS_TOOLS/mod/go.mod" \
  "$GNP_PROMETHEUS_TOOLS/mod/go.sum" "$PROMETHEUS_UI_PATCH"; echo "$PROMETHEUS_TAGS node $PROMETHEUS_UI_NODE" \
  "pnpm $PROMETHEUS_UI_PNPM"; } | sha256sum | cut -c1-8)")"

# Path of prometheus or promtool: on PATH when its --version names the pinned release, else the cache's.
prometheus_binary() {
  local name="$1" candidate
  candidate="$(command -v "$name" || true)"
  if [ -n "$candidate" ] && [[ "$candidate" != "$GNP_CACHE"/* ]] \
      && "$candidate" --version 2>&1 | grep -q "version $PROMETHEUS_RELEASE "; then
    printf '%s\n' "$candidate"
  else
    printf '%s\n' "${SET_DIR[prometheus]}/$name"
  fi
}

set_missing_prometheus() {
  local pkg name
  for pkg in "${PROMETHEUS_PKGS[@]}"; do
    name="$(basename "$pkg")"
    [ -x "$(prometheus_binary "$name")" ] || printf '%s\n' "$pkg"
  done
}

# Builds from a copy of the module with its UI built (the module cache is read-only), through a copy of the wrapper
# module that points the Prometheus module at it (`replace`): the rest of the graph and go.sum stay the wrapper's.
set_build_prometheus() {
  local out="$1"; shift
  local v="github.com/prometheus/common/version" src work="$out/ui-build"
  src="$(module_dir "$GNP_PROMETHEUS_TOOLS/mod" github.com/prometheus/prometheus)"
  mkdir -p "$work/wrapper"
  prometheus_ui_source "$src" "$work/prometheus"
  cp "$GNP_PROMETHEUS_TOOLS/mod/go.mod" "$GNP_PROMETHEUS_TOOLS/mod/go.sum" "$work/wrapper/"
  (cd "$work/wrapper" && go mod edit -replace "github.com/prometheus/prometheus=$work/prometheus" \
    && CGO_ENABLED=0 go build -trimpath -tags "$PROMETHEUS_TAGS" \
    -ldflags "-s -w -X $v.Version=$PROMETHEUS_RELEASE -X $v.Branch=HEAD -X $v.Revision=$PROMETHEUS_VERSION" \
    -o "$out/" "$@")
  # Not a binary: build_set moves everything left in $out into the cache (and removes it all on failure).
  rm -rf "$work"
}

# The operator's CRD folder in the module cache (downloaded first when missing).
prometheus_operator_crds() {
  local dir
  dir="$(cd "$GNP_ROOT" && go mod download -json "$PROMETHEUS_OPERATOR_MODULE@$PROMETHEUS_OPERATOR_VERSION" \
    | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
  [ -f "$dir/example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml" ] \
    || die "could not download $PROMETHEUS_OPERATOR_MODULE@$PROMETHEUS_OPERATOR_VERSION into the module cache"
  printf '%s\n' "$dir/example/prometheus-operator-crd"
}
set_sources_prometheus() {
  prometheus_operator_crds >/dev/null
  module_dir "$GNP_PROMETHEUS_TOOLS/mod" github.com/prometheus/prometheus >/dev/null
}

# prometheus_exports: `export GNP_PROMETHEUS=PATH`, GNP_PROMTOOL (found on PATH or in the cache) and
# GNP_PROMETHEUS_OPERATOR_CRDS lines.
prometheus_exports() {
  printf 'export GNP_PROMETHEUS=%q\n' "$(prometheus_binary prometheus)"
  printf 'export GNP_PROMTOOL=%q\n' "$(prometheus_binary promtool)"
  printf 'export GNP_PROMETHEUS_OPERATOR_CRDS=%q\n' "$(prometheus_operator_crds)"
}

GNP_WRAPPERS+=("$GNP_PROMETHEUS_TOOLS/mod")
