#!/usr/bin/env bash
# Builds the Pulumi toolchain from Go modules into the cache outside the clone, or reuses what is there:
#   $(pulumi_cli_dir)/         pulumi, pulumi-language-python, pulumi-language-python-exec
#   $(pulumi_kubernetes_dir)/  pulumi-resource-kubernetes
# A Pulumi CLI already on PATH is used instead of building one when its version fits (see toolchain.sh).
# Progress goes to stderr; stdout gets the PATH entries to use, colon-separated.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/toolchain.sh"

# The sum database served here lacks entries for several pulumi modules (the provider pseudo-version, pkg/v3
# v3.215.0, cloud-ready-checks); the committed go.sum files pin their hashes instead.
export GONOSUMDB="${GONOSUMDB:+$GONOSUMDB,}github.com/pulumi"
ldflags_common="-s -w"

# Builds into a temporary folder next to the target and renames it, so an interrupted build leaves no half cache.
build_cli() {
  local dest="$1" tmp start=$SECONDS
  tmp="$(mktemp -d "$dest.tmp.XXXX")"
  local stamp="-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION"
  log "building pulumi v$PULUMI_VERSION (cold: about 15 minutes on 2 cores)"
  (cd "$GNP_PULUMI_TOOLS/cli" && go build -trimpath -ldflags="$ldflags_common $stamp" -o "$tmp/pulumi" \
    github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
  log "building pulumi-language-python"
  (cd "$GNP_PULUMI_TOOLS/cli" && go build -trimpath -ldflags="$ldflags_common $stamp" -o "$tmp/pulumi-language-python" \
    ./cmd/pulumi-language-python)
  local sdk
  sdk="$(cd "$GNP_PULUMI_TOOLS/cli" && go list -m -f '{{.Dir}}' github.com/pulumi/pulumi/sdk/v3)"
  install -m 0755 "$sdk/python/cmd/pulumi-language-python-exec" "$tmp/"
  rm -rf "$dest" && mv "$tmp" "$dest"
  log "pulumi toolchain built in $((SECONDS - start))s: $dest"
}

build_kubernetes() {
  local dest="$1" tmp start=$SECONDS
  tmp="$(mktemp -d "$dest.tmp.XXXX")"
  # main.go embeds schema-embed.json, generated from the module's schema.json by its own generate.go; the
  # module cache is read-only, so both run in a writable copy that uses our wrapper's go.mod.
  local src
  src="$(cd "$GNP_PULUMI_TOOLS/kubernetes" && go list -m -f '{{.Dir}}' github.com/pulumi/pulumi-kubernetes/provider/v4)"
  mkdir "$tmp/src"
  cp "$GNP_PULUMI_TOOLS/kubernetes/go.mod" "$GNP_PULUMI_TOOLS/kubernetes/go.sum" "$tmp/src/"
  cp -r "$src/cmd/pulumi-resource-kubernetes" "$tmp/src/cmd"
  chmod -R u+w "$tmp/src"
  log "generating the pulumi-kubernetes $PULUMI_KUBERNETES_VERSION schema"
  (cd "$tmp/src/cmd" && VERSION="$PULUMI_KUBERNETES_VERSION" go run generate.go)
  log "building pulumi-resource-kubernetes $PULUMI_KUBERNETES_VERSION (cold: about 10 minutes on 2 cores)"
  (cd "$tmp/src" && go build -trimpath -o "$tmp/pulumi-resource-kubernetes" \
    -ldflags="$ldflags_common -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$PULUMI_KUBERNETES_VERSION" \
    ./cmd)
  rm -rf "$tmp/src"
  rm -rf "$dest" && mv "$tmp" "$dest"
  log "pulumi-resource-kubernetes built in $((SECONDS - start))s: $dest"
}

main() {
  local cli_dir k8s_dir on_path
  on_path="$(pulumi_on_path_dir)"
  k8s_dir="$(pulumi_kubernetes_dir)"
  if [ -n "$on_path" ]; then
    cli_dir="$on_path"
    log "using the Pulumi CLI on PATH: $cli_dir/pulumi"
  else
    cli_dir="$(pulumi_cli_dir)"
  fi

  if [ -x "$cli_dir/pulumi" ] && [ -x "$k8s_dir/pulumi-resource-kubernetes" ]; then
    log "reusing the Pulumi toolchain: $cli_dir, $k8s_dir"
  else
    require_go
    mkdir -p "$(dirname "$cli_dir")"
    [ -x "$cli_dir/pulumi" ] || build_cli "$cli_dir"
    [ -x "$k8s_dir/pulumi-resource-kubernetes" ] || build_kubernetes "$k8s_dir"
  fi
  printf '%s:%s\n' "$cli_dir" "$k8s_dir"
}

main "$@"
