#!/usr/bin/env bash
# Builds the Pulumi toolchain from Go modules into the cache outside the clone, or reuses what is there:
#   $(pulumi_cli_dir)/         pulumi, pulumi-language-python, pulumi-language-python-exec
#   $(pulumi_hosts_dir)/       pulumi-language-yaml, -nodejs and -go (for programs that use our package)
#   $(pulumi_kubernetes_dir)/  pulumi-resource-kubernetes
# A Pulumi CLI already on PATH is used instead of building one when its version fits (see toolchain.sh).
# Progress goes to stderr (tools/build.sh does the building); stdout gets the PATH entries, colon-separated.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
"$GNP_ROOT/tools/build.sh" pulumi pulumi_hosts pulumi_kubernetes
load_sets
cli_dir="$(pulumi_on_path_dir)"
if [ -n "$cli_dir" ]; then log "using the Pulumi CLI on PATH: $cli_dir/pulumi"; else cli_dir="$(pulumi_cli_dir)"; fi
printf '%s:%s:%s\n' "$cli_dir" "$(pulumi_hosts_dir)" "$(pulumi_kubernetes_dir)"
