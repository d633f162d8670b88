# Shared helpers for the Go-built toolchain scripts. Source it; it defines functions and variables only.
#
# Built binaries live outside the clone, keyed by name and version, so a second run (or a second clone)
# reuses them:  $GNP_CACHE/bin/<name>-<version>/<binary>
# GNP_CACHE defaults to ${XDG_CACHE_HOME:-$HOME/.cache}/gpu-node-pools. Build logs and the time each build
# took on this machine (for the next build's "expected" figure) are kept beside them, in logs/ and timings/.

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

# The source folder of MODULE at the version the wrapper module in WRAPPER_DIR pins, downloaded first when the
# module cache lacks it (`go list -m -f {{.Dir}}` prints nothing for a module that is not downloaded yet).
module_dir() {
  local wrapper="$1" module="$2" dir
  dir="$(cd "$wrapper" && go mod download -json "$module" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
  [ -n "$dir" ] && [ -d "$dir" ] || die "could not download $module (pinned in $wrapper/go.mod) into the module cache"
  printf '%s\n' "$dir"
}

# Loads the toolchain's set definitions (tools/*/sets.sh; the interface is described in tools/build.sh).
load_sets() {
  declare -ga GNP_SETS=() GNP_WRAPPERS=()
  declare -gA SET_LABEL=() SET_GUESS=() SET_DIR=() SET_AFTER=()
  source "$GNP_ROOT/tools/controlplane/sets.sh"
  source "$GNP_ROOT/tools/pulumi/toolchain.sh"
  source "$GNP_ROOT/tools/pulumi/sets.sh"
  # Any other toolchain folder adds its sets by shipping a tools/<name>/sets.sh of the same shape.
  local extra
  for extra in "$GNP_ROOT"/tools/*/sets.sh; do
    case "$extra" in */tools/controlplane/sets.sh | */tools/pulumi/sets.sh) continue ;; esac
    source "$extra"
  done
}

# Minutes and seconds, for people.
human_secs() { local s="$1"; if [ "$s" -ge 60 ]; then printf '%dm%02ds' $((s / 60)) $((s % 60)); else printf '%ds' "$s"; fi; }

# run_step N M ID LABEL FIRST_GUESS_SECS CMD... : runs one build step with its output in
# $GNP_CACHE/logs/ID.log. Prints one line when it starts (with the time the last build of ID took on this
# machine, or FIRST_GUESS_SECS for a first build), a line a minute while it runs, and one when it ends; on
# failure it prints the log's tail and returns non-zero. The time taken is kept for the next build's estimate.
run_step() {
  local n="$1" m="$2" id="$3" label="$4" guess="$5"; shift 5
  local logs="$GNP_CACHE/logs" timings="$GNP_CACHE/timings" expected start=$SECONDS
  mkdir -p "$logs" "$timings"
  local logfile="$logs/$id.log"
  if expected="$(cat "$timings/$id" 2>/dev/null)" && [ -n "$expected" ]; then
    expected="expected $(human_secs "$expected") (last build here)"
  else
    expected="first build here, about $(human_secs "$guess") on 2 cores"
  fi
  log "[$n/$m] $label: building, $expected; log: $logfile"
  "$@" >"$logfile" 2>&1 &
  local pid=$! next=$((SECONDS + 60)) rc=0
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    if [ "$SECONDS" -ge "$next" ]; then
      log "[$n/$m] $label: $(human_secs $((SECONDS - start))) elapsed, $expected"
      next=$((SECONDS + 60))
    fi
  done
  wait "$pid" || rc=$?
  if [ "$rc" -ne 0 ]; then
    tail -n 40 "$logfile" >&2
    log "[$n/$m] $label: FAILED after $(human_secs $((SECONDS - start))) (exit $rc); full log: $logfile"
    return "$rc"
  fi
  echo $((SECONDS - start)) >"$timings/$id"
  log "[$n/$m] $label: built in $(human_secs $((SECONDS - start)))"
}
