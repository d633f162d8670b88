# Shared helpers for the Go-built toolchain scripts. Source it; it defines functions and variables only.
#
# Built binaries live outside the clone, keyed by name and version, so a second run (or a second clone)
# reuses them:  $GNP_CACHE/bin/<name>-<version>/<binary>
# GNP_CACHE defaults to ${XDG_CACHE_HOME:-$HOME/.cache}/gpu-node-pools.

GNP_CACHE="${GNP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gpu-node-pools}"
GNP_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
GNP_STATE="${GNP_STATE:-$GNP_ROOT/.state}"

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# The cache folder for one binary set at one version.
cache_bin_dir() { printf '%s/bin/%s-%s' "$GNP_CACHE" "$1" "$2"; }

require_go() {
  command -v go >/dev/null 2>&1 || die "Go is not installed (need go >= 1.24 on PATH to build the local toolchain)."
  if ! timeout 60 go list -m golang.org/x/mod@v0.20.0 >/dev/null 2>&1; then
    die "the Go module proxy ($(go env GOPROXY)) is not reachable; the local toolchain is built from Go modules."
  fi
}
