#!/usr/bin/env bash
# Builds (or finds) the local control plane: kube-apiserver, kube-controller-manager, kube-scheduler, etcd,
# kwok, kwokctl and metrics-server, at the versions pinned by the wrapper modules next to this script.
#
# Binaries go to $GNP_CACHE/bin/<set>-<version>/ (outside the clone) and are reused on the next run. A binary
# already in $KUBEBUILDER_ASSETS or on PATH is used instead when its --version reports the pinned version.
#
# stdout: `export GNP_<BINARY>=/path` lines (eval them, or source paths.sh); progress goes to stderr.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/../lib.sh"

# The version a wrapper module pins for a module it requires (read from go.mod: no Go needed to ask).
pinned() {
  awk -v m="$2" '$1 == m {print $2; exit} $1 == "require" && $2 == m {print $3; exit}' "$here/$1/go.mod"
}

KUBE_VERSION="$(pinned kube k8s.io/kubernetes)"
ETCD_VERSION="$(pinned etcd go.etcd.io/etcd/server/v3)"
KWOK_VERSION="$(pinned kwok sigs.k8s.io/kwok)"
METRICS_SERVER_VERSION="$(pinned kwok sigs.k8s.io/metrics-server)"

kube_minor="${KUBE_VERSION#v1.}"; kube_minor="${kube_minor%%.*}"
KUBE_LDFLAGS="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  KUBE_LDFLAGS+=" -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$kube_minor"
  KUBE_LDFLAGS+=" -X $pkg.gitTreeState=clean"
done
# metrics-server reports its version through client-go's version package; kwok's is in its source.
MS_LDFLAGS="-s -w -X k8s.io/client-go/pkg/version.gitVersion=$METRICS_SERVER_VERSION"

# The binary name of a main package (etcd's package path ends in its major version).
bin_name() { case "$1" in go.etcd.io/etcd/server/v3) echo etcd ;; *) basename "$1" ;; esac; }
# The name `go build -o DIR/` gives it: the last path element, skipping a major-version suffix (/v3).
go_name() {
  local base; base="$(basename "$1")"
  if [[ "$base" =~ ^v[0-9]+$ ]]; then basename "$(dirname "$1")"; else echo "$base"; fi
}

# Path of NAME from KUBEBUILDER_ASSETS or PATH when `NAME --version` mentions VERSION; fails otherwise.
existing() {
  local name="$1" want="${2#v}" candidate
  for candidate in ${KUBEBUILDER_ASSETS:+"$KUBEBUILDER_ASSETS/$name"} "$(command -v "$name" || true)"; do
    [ -n "$candidate" ] && [ -x "$candidate" ] || continue
    if "$candidate" --version 2>&1 | grep -qF "$want"; then printf '%s\n' "$candidate"; return 0; fi
  done
  return 1
}

exports=""

# binary_set SET VERSION MODULE LDFLAGS PKG... : resolves every binary of one set, building the missing ones
# into the cache with ONE `go build` so the packages they share compile once.
binary_set() {
  local set="$1" version="$2" module="$3" ldflags="$4"; shift 4
  local dest; dest="$(cache_bin_dir "$set" "$version")"
  local pkg name path to_build=()
  for pkg in "$@"; do
    name="$(bin_name "$pkg")"
    if ! existing "$name" "$version" >/dev/null && [ ! -x "$dest/$name" ]; then to_build+=("$pkg"); fi
  done
  if [ "${#to_build[@]}" -gt 0 ]; then
    require_go
    log "$set $version: building ${#to_build[@]} binaries with $(go env GOVERSION) (a cold build takes many minutes)"
    local tmp="$dest.tmp.$$" start=$SECONDS
    rm -rf "$tmp"; mkdir -p "$tmp"
    # Static, like upstream release builds; -trimpath and -s -w keep the output small and reproducible.
    (cd "$here/$module" && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$tmp/" "${to_build[@]}") \
      || { rm -rf "$tmp"; die "building $set $version failed (Go output above)"; }
    mkdir -p "$dest"
    for pkg in "${to_build[@]}"; do
      name="$(bin_name "$pkg")"
      mv -f "$tmp/$(go_name "$pkg")" "$dest/$name" || die "go build wrote no $(go_name "$pkg") for $pkg"
    done
    rm -rf "$tmp"
    log "$set $version: built in $((SECONDS - start))s into $dest"
  fi
  for pkg in "$@"; do
    name="$(bin_name "$pkg")"
    if path="$(existing "$name" "$version")"; then
      log "$name $version: using $path"
    else
      path="$dest/$name"
      "$path" --version >/dev/null 2>&1 || die "$path does not run; delete $dest and run $0 again"
      log "$name $version: $path"
    fi
    local var="GNP_$(printf '%s' "$name" | tr 'a-z-' 'A-Z_')"
    exports+="export $var=$(printf '%q' "$path")"$'\n'
  done
}

binary_set kube "$KUBE_VERSION" kube "$KUBE_LDFLAGS" \
  k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kube-scheduler
binary_set etcd "$ETCD_VERSION" etcd "-s -w" go.etcd.io/etcd/server/v3
binary_set kwok "$KWOK_VERSION" kwok "-s -w" sigs.k8s.io/kwok/cmd/kwok sigs.k8s.io/kwok/cmd/kwokctl
binary_set metrics-server "$METRICS_SERVER_VERSION" kwok "$MS_LDFLAGS" sigs.k8s.io/metrics-server/cmd/metrics-server

printf '%sexport GNP_KUBE_VERSION=%s\n' "$exports" "$KUBE_VERSION"
