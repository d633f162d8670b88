#!/usr/bin/env bash
# Builds the Go-built toolchain into the cache outside the clone, or reuses what is there:
#
#   tools/build.sh [SET...]        build every set that is not cached (default: all), two at a time
#   tools/build.sh --list          one line per set: id, cached|missing, label
#   tools/build.sh --check-sources resolve every module folder the builds read and every wrapper module's
#                                  dependency graph, without building (the fresh-machine check; cheap)
#
# Sets are defined by tools/<area>/sets.sh. Each set ID has SET_LABEL[ID], SET_GUESS[ID] (seconds a first
# build takes on 2 cores), SET_DIR[ID] (its cache folder) and the functions set_missing_ID (prints what is not
# built yet, one item a line; nothing when the set is ready) and set_build_ID OUT ITEM... (builds those items
# into OUT); set_sources_ID, when defined, resolves what the build reads straight from the module cache.
# SET_AFTER[ID]=OTHER makes ID wait for OTHER when both are built (they share a wrapper module's packages).
# The longest builds (by SET_GUESS) start first.
#
# Progress: one line per step as it starts (step N of M, the time it took last on this machine), one a minute
# while it runs, one when it ends; the Go output goes to $GNP_CACHE/logs/<set>.log, printed only on failure.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

load_sets
SELF="$GNP_ROOT/tools/build.sh"

# Parallel builds overlap one set's module download and single-threaded link with another's compile.
JOBS="${GNP_BUILD_JOBS:-2}"

# build_set ID ITEM... : builds into a temporary folder next to the cache folder, then moves each file in, so an
# interrupted build leaves no half-written binary in the cache. Runs as its own process (--build-one), where
# `set -e` holds for every command of the set's build function.
build_set() {
  local id="$1"; shift
  local dest="${SET_DIR[$id]}" tmp
  mkdir -p "$(dirname "$dest")"
  tmp="$(mktemp -d "$dest.tmp.XXXX")"
  trap "rm -rf '$tmp'" EXIT
  go env GOVERSION
  "set_build_$id" "$tmp" "$@"
  mkdir -p "$dest"
  local f
  for f in "$tmp"/*; do mv -f "$f" "$dest/"; done
}

usage() { sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

list() {
  local id
  for id in "${GNP_SETS[@]}"; do
    local state=missing
    [ -n "$("set_missing_$id")" ] || state=cached
    printf '%-18s %-8s %s\n' "$id" "$state" "${SET_LABEL[$id]}"
  done
}

check_sources() {
  require_go
  local id wrapper start=$SECONDS
  for id in "${GNP_SETS[@]}"; do
    if declare -F "set_sources_$id" >/dev/null; then
      "set_sources_$id" || die "${SET_LABEL[$id]}: a file its build reads from the module cache is missing"
      log "sources of ${SET_LABEL[$id]}: resolved"
    fi
  done
  for wrapper in "${GNP_WRAPPERS[@]}"; do
    (cd "$wrapper" && go list -m all >/dev/null) || die "the dependency graph of $wrapper does not resolve"
    log "module graph of ${wrapper#"$GNP_ROOT"/}: resolved"
  done
  log "every module the toolchain builds read resolves from GOMODCACHE=$(go env GOMODCACHE) ($((SECONDS - start))s)"
}

build() {
  local wanted=("$@") id plan=()
  local -A missing=()  # set -> what it lacks, one item a line (asked once: the check runs binaries' --version)
  [ ${#wanted[@]} -gt 0 ] || wanted=("${GNP_SETS[@]}")
  for id in "${wanted[@]}"; do
    [ -n "${SET_LABEL[$id]:-}" ] || die "unknown toolchain set '$id' (known: ${GNP_SETS[*]})"
    missing[$id]="$("set_missing_$id")"
    [ -z "${missing[$id]}" ] || plan+=("$id")
  done
  # Longest first (by the first-build guess), so the build lanes finish close together.
  mapfile -t plan < <(for id in "${plan[@]}"; do printf '%s %s\n' "${SET_GUESS[$id]}" "$id"; done \
    | sort -s -k1,1nr | cut -d' ' -f2)
  if [ ${#plan[@]} -eq 0 ]; then
    return 0
  fi
  require_go
  local m=${#plan[@]} n=0 start=$SECONDS results
  results="$(mktemp -d)"
  log "toolchain: building $m of ${#wanted[@]} binary sets, $JOBS at a time, with $(go env GOVERSION)"
  local -A pid_of=()
  for id in "${plan[@]}"; do
    n=$((n + 1))
    while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n || true; done
    # A set that compiles the same packages as another waits for it, then finds them in the Go build cache.
    local after="${SET_AFTER[$id]:-}"
    if [ -n "$after" ] && [ -n "${pid_of[$after]:-}" ]; then wait "${pid_of[$after]}" 2>/dev/null || true; fi
    local items; mapfile -t items <<<"${missing[$id]}"
    { rc=0; run_step "$n" "$m" "$id" "${SET_LABEL[$id]}" "${SET_GUESS[$id]}" "$SELF" --build-one "$id" "${items[@]}" || rc=$?
      echo "$rc" >"$results/$id"; } &
    pid_of[$id]=$!
  done
  wait
  local failed=()
  for id in "${plan[@]}"; do [ "$(cat "$results/$id" 2>/dev/null)" = 0 ] || failed+=("$id"); done
  rm -rf "$results"
  [ ${#failed[@]} -eq 0 ] || die "the toolchain build failed for: ${failed[*]} (logs in $GNP_CACHE/logs/)"
  log "toolchain: $m sets built in $(human_secs $((SECONDS - start)))"
}

case "${1:-}" in
  --list) list ;;
  --check-sources) check_sources ;;
  --build-one) shift; build_set "$@" ;;
  -h|--help) usage ;;
  -*) usage ;;
  *) build "$@" ;;
esac
