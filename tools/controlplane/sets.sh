# The local control plane's binary sets: kube-apiserver, kube-controller-manager, kube-scheduler and kubectl,
# etcd, kwok and kwokctl, metrics-server, at the versions pinned by the wrapper modules next to this file.
# Sourced (after tools/lib.sh) by tools/build.sh and tools/controlplane/build.sh; defines variables and
# functions only. The set interface is described in tools/build.sh.
#
# A binary already in $KUBEBUILDER_ASSETS or on PATH is used instead of the cache when its version is the
# pinned one, so such a binary is never built.

GNP_CONTROLPLANE_TOOLS="$GNP_ROOT/tools/controlplane"

# The version a wrapper module pins for a module it requires (read from go.mod: no Go needed to ask).
pinned() {
  awk -v m="$2" '$1 == m {print $2; exit} $1 == "require" && $2 == m {print $3; exit}' \
    "$GNP_CONTROLPLANE_TOOLS/$1/go.mod"
}

KUBE_VERSION="$(pinned kube k8s.io/kubernetes)"
ETCD_VERSION="$(pinned etcd go.etcd.io/etcd/server/v3)"
KWOK_VERSION="$(pinned kwok sigs.k8s.io/kwok)"
METRICS_SERVER_VERSION="$(pinned kwok sigs.k8s.io/metrics-server)"

_kube_minor="${KUBE_VERSION#v1.}"; _kube_minor="${_kube_minor%%.*}"
KUBE_LDFLAGS="-s -w"
for _pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  KUBE_LDFLAGS+=" -X $_pkg.gitVersion=$KUBE_VERSION -X $_pkg.gitMajor=1 -X $_pkg.gitMinor=$_kube_minor"
  KUBE_LDFLAGS+=" -X $_pkg.gitTreeState=clean"
done
unset _pkg _kube_minor
# metrics-server reports its version through client-go's version package; kwok's is in its source.
MS_LDFLAGS="-s -w -X k8s.io/client-go/pkg/version.gitVersion=$METRICS_SERVER_VERSION"

# The binary name of a main package (etcd's package path ends in its major version).
bin_name() { case "$1" in go.etcd.io/etcd/server/v3) echo etcd ;; *) basename "$1" ;; esac; }
# The name `go build -o DIR/` gives it: the last path element, skipping a major-version suffix (/v3).
go_name() {
  local base; base="$(basename "$1")"
  if [[ "$base" =~ ^v[0-9]+$ ]]; then basename "$(dirname "$1")"; else echo "$base"; fi
}

# Path of NAME from KUBEBUILDER_ASSETS or PATH when its version output mentions VERSION; fails otherwise.
existing() {
  local name="$1" want="${2#v}" candidate
  for candidate in ${KUBEBUILDER_ASSETS:+"$KUBEBUILDER_ASSETS/$name"} "$(command -v "$name" || true)"; do
    [ -n "$candidate" ] && [ -x "$candidate" ] || continue
    case "$candidate" in "$GNP_CACHE"/*) continue ;; esac
    # kubectl has no --version flag; `kubectl version --client` says the same.
    if { "$candidate" --version 2>&1 || "$candidate" version --client 2>&1; } | grep -qF "$want"; then
      printf '%s\n' "$candidate"; return 0
    fi
  done
  return 1
}

# _cp_missing DEST VERSION PKG... : the packages whose binary is neither found (existing) nor cached in DEST.
_cp_missing() {
  local dest="$1" version="$2" pkg name; shift 2
  for pkg in "$@"; do
    name="$(bin_name "$pkg")"
    if ! existing "$name" "$version" >/dev/null && [ ! -x "$dest/$name" ]; then printf '%s\n' "$pkg"; fi
  done
}

# _cp_build WRAPPER LDFLAGS OUT PKG... : one `go build` of the packages, so the packages they share compile once.
_cp_build() {
  local wrapper="$1" ldflags="$2" out="$3" pkg; shift 3
  # Static, like upstream release builds; -trimpath and -s -w keep the output small and reproducible.
  (cd "$GNP_CONTROLPLANE_TOOLS/$wrapper" && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$out/" "$@")
  for pkg in "$@"; do
    [ "$(go_name "$pkg")" = "$(bin_name "$pkg")" ] || mv "$out/$(go_name "$pkg")" "$out/$(bin_name "$pkg")"
  done
}

KUBE_PKGS=(k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager
  k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl)
ETCD_PKGS=(go.etcd.io/etcd/server/v3)
KWOK_PKGS=(sigs.k8s.io/kwok/cmd/kwok sigs.k8s.io/kwok/cmd/kwokctl)
METRICS_SERVER_PKGS=(sigs.k8s.io/metrics-server/cmd/metrics-server)

GNP_SETS+=(kube etcd kwok metrics_server)
SET_LABEL[kube]="kube-apiserver, kube-controller-manager, kube-scheduler, kubectl $KUBE_VERSION"
SET_LABEL[etcd]="etcd $ETCD_VERSION"
SET_LABEL[kwok]="kwok, kwokctl $KWOK_VERSION"
SET_LABEL[metrics_server]="metrics-server $METRICS_SERVER_VERSION"
# First-build guesses on a 2-core machine, module download included (docs/local-cluster.md has the measurements).
SET_AFTER[metrics_server]=kwok  # same wrapper module: its k8s.io packages compile once
SET_GUESS[kube]=720; SET_GUESS[etcd]=100; SET_GUESS[kwok]=240; SET_GUESS[metrics_server]=180
SET_DIR[kube]="$(cache_bin_dir kube "$KUBE_VERSION")"
SET_DIR[etcd]="$(cache_bin_dir etcd "$ETCD_VERSION")"
SET_DIR[kwok]="$(cache_bin_dir kwok "$KWOK_VERSION")"
SET_DIR[metrics_server]="$(cache_bin_dir metrics-server "$METRICS_SERVER_VERSION")"

set_missing_kube() { _cp_missing "${SET_DIR[kube]}" "$KUBE_VERSION" "${KUBE_PKGS[@]}"; }
set_missing_etcd() { _cp_missing "${SET_DIR[etcd]}" "$ETCD_VERSION" "${ETCD_PKGS[@]}"; }
set_missing_kwok() { _cp_missing "${SET_DIR[kwok]}" "$KWOK_VERSION" "${KWOK_PKGS[@]}"; }
set_missing_metrics_server() {
  _cp_missing "${SET_DIR[metrics_server]}" "$METRICS_SERVER_VERSION" "${METRICS_SERVER_PKGS[@]}"
}
set_build_kube() { _cp_build kube "$KUBE_LDFLAGS" "$@"; }
set_build_etcd() { _cp_build etcd "-s -w" "$@"; }
set_build_kwok() { _cp_build kwok "-s -w" "$@"; }
set_build_metrics_server() { _cp_build kwok "$MS_LDFLAGS" "$@"; }

# controlplane_exports: `export GNP_<BINARY>=PATH` lines for every binary (found, or in the cache).
controlplane_exports() {
  local pairs=() pkg name path
  for pkg in "${KUBE_PKGS[@]}"; do pairs+=("kube $KUBE_VERSION $pkg"); done
  for pkg in "${ETCD_PKGS[@]}"; do pairs+=("etcd $ETCD_VERSION $pkg"); done
  for pkg in "${KWOK_PKGS[@]}"; do pairs+=("kwok $KWOK_VERSION $pkg"); done
  for pkg in "${METRICS_SERVER_PKGS[@]}"; do pairs+=("metrics_server $METRICS_SERVER_VERSION $pkg"); done
  local set version
  for pair in "${pairs[@]}"; do
    read -r set version pkg <<<"$pair"
    name="$(bin_name "$pkg")"
    path="$(existing "$name" "$version")" || path="${SET_DIR[$set]}/$name"
    [ -x "$path" ] || die "$path is missing; run tools/build.sh"
    printf 'export GNP_%s=%q\n' "$(printf '%s' "$name" | tr 'a-z-' 'A-Z_')" "$path"
  done
  printf 'export GNP_KUBE_VERSION=%s\n' "$KUBE_VERSION"
}

# The wrapper modules whose dependency graphs the fresh-module-cache check resolves.
GNP_WRAPPERS+=("$GNP_CONTROLPLANE_TOOLS/kube" "$GNP_CONTROLPLANE_TOOLS/etcd" "$GNP_CONTROLPLANE_TOOLS/kwok")
