# Source me (`source scripts/env.sh`) to drive the local stack by hand after `make up`:
#   - kubectl: the one built at the control plane's version first on PATH, KUBECONFIG at the local cluster;
#   - Pulumi offline: state in a local file backend under .state/pulumi (git-ignored), no Pulumi Cloud, no update
#     checks and no plugin downloads (a missing plugin fails at once and names itself);
#   - PATH: the Pulumi CLI, language host and Kubernetes provider built by tools/build.sh, then .venv/bin.
# Returns non-zero (without closing your shell) when the toolchain has not been built yet.

_gnp_env_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$_gnp_env_root/tools/lib.sh"
source "$_gnp_env_root/tools/pulumi/toolchain.sh"

export PULUMI_BACKEND_URL="file://$GNP_STATE/pulumi"
# Plugins, credentials and workspace settings stay in the project too, so ~/.pulumi never changes what runs here.
export PULUMI_HOME="$GNP_STATE/pulumi-home"
# Encrypts secrets of stacks in this local backend only. It is public (it is in the repo), so a stack holding
# real secrets belongs in a real backend (Pulumi Cloud, S3) with its own passphrase or KMS key, not here.
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE-gpu-node-pools-local-only}"
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
export KUBECONFIG="$GNP_STATE/kubeconfig"
mkdir -p "$GNP_STATE/pulumi" "$PULUMI_HOME"

_gnp_cli_dir="$(pulumi_on_path_dir)"
_gnp_cli_dir="${_gnp_cli_dir:-$(pulumi_cli_dir)}"
_gnp_k8s_dir="$(pulumi_kubernetes_dir)"
# The YAML and Node.js language hosts, for programs that use our component package (on PATH when built).
_gnp_hosts_dir="$(pulumi_hosts_dir)"
# In a subshell: a missing binary must not end the caller's shell.
_gnp_kubectl="$(bash -c 'source "$1/tools/lib.sh"; load_sets; controlplane_exports' _ "$_gnp_env_root" 2>/dev/null \
  | sed -n "s/^export GNP_KUBECTL=//p")"
for _gnp_dir in "$_gnp_env_root/.venv/bin" "$_gnp_k8s_dir" "$_gnp_hosts_dir" "$_gnp_cli_dir" ${_gnp_kubectl:+"$(dirname "$_gnp_kubectl")"}; do
  case ":$PATH:" in *":$_gnp_dir:"*) ;; *) PATH="$_gnp_dir:$PATH" ;; esac
done
export PATH

if ! [ -x "$_gnp_cli_dir/pulumi" ] || ! [ -x "$_gnp_k8s_dir/pulumi-resource-kubernetes" ] || [ -z "$_gnp_kubectl" ]; then
  printf 'error: the toolchain is not built (expected %s/pulumi, %s/pulumi-resource-kubernetes and kubectl);\n' \
    "$_gnp_cli_dir" "$_gnp_k8s_dir" >&2
  printf '       run tools/build.sh (or make up), then source this file again\n' >&2
  unset _gnp_env_root _gnp_cli_dir _gnp_k8s_dir _gnp_hosts_dir _gnp_dir _gnp_kubectl
  return 1
fi
unset _gnp_env_root _gnp_cli_dir _gnp_k8s_dir _gnp_hosts_dir _gnp_dir _gnp_kubectl
