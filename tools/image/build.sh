#!/usr/bin/env bash
# `make image`: the node agent's image, built the way distroless builds its images, with no Docker engine:
#   Debian bookworm packages (node-agent/image/packages.txt, apt's newest, bookworm-security included)
#     -> a root filesystem (dpkg-deb -x, status.d entries, users, CA bundle, precompiled standard library)
#   + the agent and its dependencies (node-agent/image/requirements.lock, hashes required) in /opt/gpu-node-agent
#   -> two reproducible layers packed by crane into build/image/: oci/ (an OCI layout holding the multi-platform
#      index), gpu-node-agent-<arch>.tar, digest (the index's), and per platform <arch>/{digest,config.json,
#      packages.lock,sbom.spdx.json,sbom.cdx.json}.
#
#   tools/image/build.sh [--out DIR] [--arch ARCH]... [--fresh]
#     (default: build/image, amd64 and arm64; amd64 is always built, as its Python byte-compiles every platform's
#     files; --fresh builds even when an image of the same inputs is kept in $GNP_CACHE/image/built)
#
# Same inputs (packages, lock files, sources, SOURCE_DATE_EPOCH), same digest: an unchanged build is a copy of the
# kept one (tools/image/reuse.sh). SOURCE_DATE_EPOCH defaults to the
# time of the last commit that changed the agent or this build. docs/node-agent.md, "Image", has the rest.
set -euo pipefail
shopt -s inherit_errexit  # a failure inside $(...) stops the build too
source "$(dirname "$0")/../lib.sh"
HERE="$GNP_ROOT/tools/image"
for part in debs rootfs agent pack sbom reuse; do source "$HERE/$part.sh"; done

OUT="$GNP_ROOT/build/image"; ARCHES=(); FRESH=0
while [ $# -gt 0 ]; do
  case "$1" in
    --out) OUT="$(mkdir -p "$2" && cd "$2" && pwd)"; shift 2 ;;
    --arch) case "$2" in amd64|arm64) ARCHES+=("$2") ;; *) die "--arch $2: amd64 or arm64" ;; esac; shift 2 ;;
    --fresh) FRESH=1; shift ;;
    *) die "unknown argument $1 (usage: tools/image/build.sh [--out DIR] [--arch amd64|arm64]... [--fresh])" ;;
  esac
done
[ ${#ARCHES[@]} -gt 0 ] || ARCHES=(amd64 arm64)
# amd64 always: its Python byte-compiles the other platforms' files.
[[ " ${ARCHES[*]} " == *" amd64 "* ]] || ARCHES=(amd64 "${ARCHES[@]}")
[ "$(uname -m)" = x86_64 ] || die "the build runs the amd64 image's own Python to byte-compile: build on x86_64"
[ -x "$GNP_ROOT/.venv/bin/python" ] || die ".venv is missing: run scripts/setup.sh (make setup)"
: "${SOURCE_DATE_EPOCH:=$(git -C "$GNP_ROOT" log -1 --format=%ct -- node-agent tools/image 2>/dev/null || echo 0)}"
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-0}"
AGENT_VERSION="$(sed -n 's/^version = "\(.*\)"$/\1/p' "$GNP_ROOT/node-agent/pyproject.toml")"

"$GNP_ROOT/tools/build.sh" crane syft
load_sets
CRANE="$(image_tool crane)"; SYFT="$(image_tool syft)"

work="$(mktemp -d)"
cleanup() { registry_stop; rm -rf "$work"; }
trap cleanup EXIT
start=$SECONDS

for arch in "${ARCHES[@]}"; do apt_update "$arch"; done
key="$(image_key "${ARCHES[@]}")"
if [ "$FRESH" = 0 ] && image_reuse "$key" "$OUT"; then
  log "image: inputs unchanged (key $key): gpu-node-agent $AGENT_VERSION @$(cat "$OUT/digest") (${ARCHES[*]}) copied into $OUT from $IMAGE_BUILT, $(human_secs $((SECONDS - start)))"
  exit 0
fi

# The amd64 root filesystem's own Python byte-compiles every platform's files (bytecode is the same on all).
image_python() {
  local root="$work/amd64/debian"
  PYTHONHOME="$root/usr" "$root/lib64/ld-linux-x86-64.so.2" \
    --library-path "$root/lib/x86_64-linux-gnu:$root/usr/lib/x86_64-linux-gnu" "$root/usr/bin/python3.11" "$@"
}


log "image: agent wheel"
agent_wheel "$work/wheels"
rm -rf "$OUT"; mkdir -p "$OUT"
layers=()
for arch in "${ARCHES[@]}"; do
  log "image: $arch: Debian packages (apt's newest), root filesystem, agent"
  mkdir -p "$OUT/$arch" "$work/$arch/debian" "$work/$arch/agent"
  apt_download "$arch" "$work/$arch/debs" >"$OUT/$arch/packages.lock"
  unpack_debs "$work/$arch/debs" "$work/$arch/debian"
  finish_rootfs "$work/$arch/debian"
  compile_tree image_python "$work/$arch/debian" /usr/lib/python3.11
  install_agent "$arch" "$work/$arch/agent" "$work/wheels"
  compile_tree image_python "$work/$arch/agent" "$AGENT_PREFIX"
  layer_tar "$work/$arch/debian" "$work/$arch/debian.tar"
  layer_tar "$work/$arch/agent" "$work/$arch/agent.tar"
done

log "image: packing with crane"
registry_start "$work/registry"
refs=()
for arch in "${ARCHES[@]}"; do
  ref="$(push_arch "$arch" "$work/$arch/debian.tar" "$work/$arch/agent.tar")"
  refs+=("$ref")
done
export_image "$OUT" "${refs[@]}"
registry_stop; REGISTRY_PID=

for arch in "${ARCHES[@]}"; do log "image: $arch SBOMs (syft)"; write_sboms "$OUT" "$arch"; done
image_keep "$key" "$OUT"
log "image: gpu-node-agent $AGENT_VERSION @$(cat "$OUT/digest") (${ARCHES[*]}) in $OUT, $(human_secs $((SECONDS - start)))"
