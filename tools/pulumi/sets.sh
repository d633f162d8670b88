# The Pulumi toolchain's binary sets: the CLI with our Python language host, and the Kubernetes provider.
# Sourced (after tools/lib.sh and tools/pulumi/toolchain.sh) by tools/build.sh; defines variables and functions
# only. The set interface is described in tools/build.sh. A Pulumi CLI already on PATH is used instead of
# building one when its version fits (toolchain.sh).

# The sum database served here lacks entries for several pulumi modules (the provider pseudo-version, pkg/v3
# v3.215.0, cloud-ready-checks); the committed go.sum files pin their hashes instead.
export GONOSUMDB="${GONOSUMDB:+$GONOSUMDB,}github.com/pulumi"

GNP_SETS+=(pulumi pulumi_hosts pulumi_kubernetes)
SET_LABEL[pulumi]="pulumi v$PULUMI_VERSION and its Python language host"
SET_LABEL[pulumi_hosts]="pulumi-language-yaml $PULUMI_YAML_VERSION,"\
" pulumi-language-nodejs and pulumi-language-go v$PULUMI_VERSION"
SET_LABEL[pulumi_kubernetes]="pulumi-resource-kubernetes $PULUMI_KUBERNETES_VERSION"
SET_GUESS[pulumi]=480; SET_GUESS[pulumi_hosts]=150; SET_GUESS[pulumi_kubernetes]=900
SET_DIR[pulumi]="$(pulumi_cli_dir)"
SET_DIR[pulumi_hosts]="$(pulumi_hosts_dir)"
# The hosts compile most of sdk/v3 and pkg/v3 at the CLI's version: after the CLI they come from the build cache.
SET_AFTER[pulumi_hosts]=pulumi
SET_DIR[pulumi_kubernetes]="$(pulumi_kubernetes_dir)"

set_missing_pulumi() {
  [ -n "$(pulumi_on_path_dir)" ] || [ -x "${SET_DIR[pulumi]}/pulumi" ] || echo pulumi
}
set_missing_pulumi_hosts() {
  local name
  for name in pulumi-language-yaml pulumi-language-nodejs pulumi-language-go; do
    [ -x "${SET_DIR[pulumi_hosts]}/$name" ] || echo "$name"
  done
}
set_missing_pulumi_kubernetes() {
  [ -x "${SET_DIR[pulumi_kubernetes]}/pulumi-resource-kubernetes" ] || echo pulumi-resource-kubernetes
}

_pulumi_sdk_dir() { module_dir "$GNP_PULUMI_TOOLS/cli" github.com/pulumi/pulumi/sdk/v3; }
_pulumi_provider_dir() { module_dir "$GNP_PULUMI_TOOLS/kubernetes" github.com/pulumi/pulumi-kubernetes/provider/v4; }

set_build_pulumi() {
  local out="$1" sdk
  local flags="-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION"
  (cd "$GNP_PULUMI_TOOLS/cli" && go build -trimpath -ldflags="$flags" -o "$out/pulumi" \
    github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
  (cd "$GNP_PULUMI_TOOLS/cli" && go build -trimpath -ldflags="$flags" -o "$out/pulumi-language-python" \
    ./cmd/pulumi-language-python)
  sdk="$(_pulumi_sdk_dir)"
  install -m 0755 "$sdk/python/cmd/pulumi-language-python-exec" "$out/"
}

# pulumi-language-yaml is the `tool` of the hosts wrapper; pulumi-language-nodejs and pulumi-language-go are
# upstream's packages, copied into the wrapper because their modules are not served by the proxy. Neither needs a
# file beside it: the Node.js host runs programs through the @pulumi/pulumi npm package in each program's
# node_modules, the Go host compiles each program with the `go` on PATH against its go.mod.
set_build_pulumi_hosts() {
  local out="$1" flags="-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION" name
  for name in pulumi-language-nodejs pulumi-language-go; do
    (cd "$GNP_PULUMI_TOOLS/hosts" && go build -trimpath -ldflags="$flags" -o "$out/$name" "./cmd/$name")
  done
  (cd "$GNP_PULUMI_TOOLS/hosts" && go build -trimpath -o "$out/pulumi-language-yaml" \
    -ldflags="-s -w -X github.com/pulumi/pulumi-yaml/pkg/version.Version=$PULUMI_YAML_VERSION" \
    github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml)
}

set_build_pulumi_kubernetes() {
  local out="$1" src
  # main.go embeds schema-embed.json, generated from the module's schema.json by its own generate.go; the
  # module cache is read-only, so both run in a writable copy that uses our wrapper's go.mod.
  src="$(_pulumi_provider_dir)"
  mkdir "$out/src"
  cp "$GNP_PULUMI_TOOLS/kubernetes/go.mod" "$GNP_PULUMI_TOOLS/kubernetes/go.sum" "$out/src/"
  cp -r "$src/cmd/pulumi-resource-kubernetes" "$out/src/cmd"
  chmod -R u+w "$out/src"
  (cd "$out/src/cmd" && VERSION="$PULUMI_KUBERNETES_VERSION" go run generate.go)
  (cd "$out/src" && go build -trimpath -o "$out/pulumi-resource-kubernetes" \
    -ldflags="-s -w -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$PULUMI_KUBERNETES_VERSION" \
    ./cmd)
  rm -rf "$out/src"
}

# Files the builds read straight from the module cache (not through `go build`): the fresh-module-cache check
# resolves them exactly as the builds do.
set_sources_pulumi() { test -f "$(_pulumi_sdk_dir)/python/cmd/pulumi-language-python-exec"; }
set_sources_pulumi_kubernetes() { test -f "$(_pulumi_provider_dir)/cmd/pulumi-resource-kubernetes/generate.go"; }

GNP_WRAPPERS+=("$GNP_PULUMI_TOOLS/cli" "$GNP_PULUMI_TOOLS/hosts" "$GNP_PULUMI_TOOLS/kubernetes")
