# The local Karpenter: Karpenter's core controller with its kwok cloud provider (sigs.k8s.io/karpenter/kwok, a
# main package), pinned by the wrapper module next to this file. scripts/cluster.sh runs it as a host process
# beside the control plane; on EKS the real controller runs in the cluster instead (the chart's image).
# Sourced (after tools/lib.sh) by tools/build.sh; defines variables and functions only. The set interface is
# described in tools/build.sh. crds/ holds the CRDs of this version's kwok variant (kwok/charts/crds and
# kwok/apis/crds of the module; tests/test_karpenter_crds.py checks they match).

GNP_KARPENTER_TOOLS="$GNP_ROOT/tools/karpenter"
KARPENTER_VERSION="$(awk '$1 == "sigs.k8s.io/karpenter" {print $2; exit} $1 == "require" && $2 == "sigs.k8s.io/karpenter" {print $3; exit}' \
  "$GNP_KARPENTER_TOOLS/go.mod")"
# Karpenter's go.mod asks for a newer Go than many hosts have; the go command fetches exactly that toolchain from
# the module proxy (about 10 s, once) instead of refusing (GOTOOLCHAIN=local) or picking whatever is newest.
KARPENTER_GOTOOLCHAIN="go$(awk '$1 == "go" {print $2; exit}' "$GNP_KARPENTER_TOOLS/go.mod")"

_karpenter_wrapper_hash() {
  (cd "$GNP_KARPENTER_TOOLS" && cat go.mod go.sum) | sha256sum | cut -c1-8
}

GNP_SETS+=(karpenter)
SET_LABEL[karpenter]="karpenter (core controller, kwok provider) $KARPENTER_VERSION"
SET_GUESS[karpenter]=420
SET_DIR[karpenter]="$(cache_bin_dir karpenter "$KARPENTER_VERSION-$(_karpenter_wrapper_hash)")"

set_missing_karpenter() { [ -x "${SET_DIR[karpenter]}/karpenter" ] || echo karpenter; }

set_build_karpenter() {
  local out="$1"
  # Static and stripped like the other sets; only the one main package is built.
  (cd "$GNP_KARPENTER_TOOLS" && GOTOOLCHAIN="$KARPENTER_GOTOOLCHAIN" CGO_ENABLED=0 \
    go build -trimpath -ldflags "-s -w" -o "$out/karpenter" sigs.k8s.io/karpenter/kwok)
}

# Its dependency graph resolves only under its own toolchain, so it is checked here rather than in GNP_WRAPPERS
# (which resolve under the host's).
set_sources_karpenter() {
  (cd "$GNP_KARPENTER_TOOLS" && GOTOOLCHAIN="$KARPENTER_GOTOOLCHAIN" go list -m all >/dev/null)
}

# karpenter_exports: the `export GNP_KARPENTER=PATH` line (the binary must be built).
karpenter_exports() {
  local path="${SET_DIR[karpenter]}/karpenter"
  [ -x "$path" ] || die "$path is missing; run tools/build.sh karpenter"
  printf 'export GNP_KARPENTER=%q\nexport GNP_KARPENTER_CRDS=%q\n' "$path" "$GNP_KARPENTER_TOOLS/crds"
}
