# Versions and cache folders of the Pulumi toolchain. Sourced (after tools/lib.sh) by tools/pulumi/build.sh and
# scripts/pulumi-env.sh; defines variables and functions only.

# Must match the `pulumi` and `pulumi-kubernetes` pins in pyproject.toml (tests/pulumi/test_toolchain.py checks).
PULUMI_VERSION=3.259.0
PULUMI_KUBERNETES_VERSION=4.25.0

GNP_PULUMI_TOOLS="$GNP_ROOT/tools/pulumi"
# The pulumi-yaml release CLI v$PULUMI_VERSION bundles, as tools/pulumi/hosts/go.mod pins it (vX.Y.Z).
PULUMI_YAML_VERSION="$(awk '$1 == "github.com/pulumi/pulumi-yaml" {print $2; exit}' "$GNP_PULUMI_TOOLS/hosts/go.mod")"

# A short hash of a wrapper module's sources, so a changed go.mod or host source never reuses a stale build.
_pulumi_wrapper_hash() {
  (cd "$GNP_PULUMI_TOOLS/$1" && find . -type f \( -name '*.go' -o -name 'go.mod' -o -name 'go.sum' \) | LC_ALL=C sort \
    | xargs cat) | sha256sum | cut -c1-8
}

pulumi_cli_dir() { cache_bin_dir pulumi "$PULUMI_VERSION-$(_pulumi_wrapper_hash cli)"; }
pulumi_hosts_dir() { cache_bin_dir pulumi-language-hosts "$PULUMI_VERSION-$(_pulumi_wrapper_hash hosts)"; }
pulumi_kubernetes_dir() {
  cache_bin_dir pulumi-resource-kubernetes "$PULUMI_KUBERNETES_VERSION-$(_pulumi_wrapper_hash kubernetes)"
}

# Prints the folder of a Pulumi CLI already on PATH when it is $PULUMI_VERSION's minor series and has a Python
# language host beside it; prints nothing otherwise.
pulumi_on_path_dir() {
  local bin version
  bin="$(command -v pulumi 2>/dev/null)" || return 0
  case "$bin" in "$GNP_CACHE"/*) return 0 ;; esac
  version="$(PULUMI_SKIP_UPDATE_CHECK=true timeout 20 "$bin" version 2>/dev/null)" || return 0
  [[ "$version" == "v${PULUMI_VERSION%.*}."* ]] || return 0
  [ -x "$(dirname "$bin")/pulumi-language-python" ] || command -v pulumi-language-python >/dev/null || return 0
  dirname "$bin"
}

