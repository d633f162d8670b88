#!/usr/bin/env bash
# Installs the headless browser the tests marked `browser` drive (tests/headless_chromium.py): Debian's chromium,
# with apt-get, when neither GNP_CHROMIUM nor `chromium` on PATH gives one. Needs root or passwordless sudo; where
# it can't install, it says so and the browser tests fail with the same advice (GNP_SKIP_BROWSER=1 skips them).
set -euo pipefail
source "$(dirname "$0")/../tools/lib.sh"
[ "${GNP_SKIP_BROWSER:-0}" != 1 ] || exit 0
if [ -n "${GNP_CHROMIUM:-}" ] || command -v chromium >/dev/null 2>&1; then exit 0; fi
if ! command -v apt-get >/dev/null 2>&1; then
  log "warning: no chromium and no apt-get: the browser tests will fail (install Chromium and set GNP_CHROMIUM)"
  exit 0
fi
as_root=()
if [ "$(id -u)" != 0 ]; then
  if sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
  else
    log "warning: no chromium, and installing it needs root: the browser tests will fail" \
      "(sudo apt-get install -y chromium)"
    exit 0
  fi
fi
log "browser: installing Debian's chromium for the browser tests (apt-get; about 100 MB)"
apt_log="$(mktemp)"
if ! { "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q \
    && "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium; } \
    >"$apt_log" 2>&1; then
  tail -n 20 "$apt_log" >&2
  log "warning: apt-get could not install chromium: the browser tests will fail"
fi
rm -f "$apt_log"
