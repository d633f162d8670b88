#!/usr/bin/env bash
# `pulumi up` of a stack the way `make up` runs it (its step 5), in the project of the current folder: in
# scripts/env.sh's environment, from the stack's own file (no copy, no override, so a hand-driven
# `pulumi preview --stack STACK` afterwards reads the same config), guarded by the policy pack.
#   scripts/stack-up.sh STACK [more `pulumi up` flags, e.g. --refresh]
set -euo pipefail
stack="${1:?usage: scripts/stack-up.sh STACK [pulumi up flags...]}"; shift
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/env.sh"
pulumi stack select --create "$stack" >/dev/null
pulumi up --stack "$stack" --yes --policy-pack "$here/../policies" "$@"
