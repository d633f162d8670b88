#!/usr/bin/env bash
# `make image-push STACK=<stack>`: pushes the image `make image` built (build/image, both platforms, by its index)
# to the stack's nodeAgent.pushRepository as <repository>:<agent version>, checks that the registry now holds that
# very digest, and prints the `image` line to put in stacks/Pulumi.<stack>.yaml. Registry credentials are crane's
# (`crane auth login`, or a Docker config.json); nothing else is called. GNP_IMAGE_OUT (default build/image) and
# GNP_PROJECT_DIR (default this checkout: where stacks/ is) point elsewhere.
set -euo pipefail
source "$(dirname "$0")/../tools/lib.sh"
cd "$GNP_ROOT"
stack="${1:-${STACK:-}}"
[ -n "$stack" ] || die "name the stack: make image-push STACK=dev (its nodeAgent.pushRepository is the target)"
out="${GNP_IMAGE_OUT:-$GNP_ROOT/build/image}"
[ -s "$out/digest" ] && [ -d "$out/oci" ] || die "$out holds no built image: run make image first"
repository="$(.venv/bin/python -m gpu_node_pools.script_commands --project-dir "${GNP_PROJECT_DIR:-$GNP_ROOT}" \
  image-push-target --stack "$stack")" \
  || exit 2
version="$(sed -n 's/^version = "\(.*\)"$/\1/p' node-agent/pyproject.toml)"
load_sets
crane="$(image_tool crane)"
digest="$(cat "$out/digest")"
# The layout holds one entry, the multi-platform index, and crane pushes that entry itself.
"$crane" push "$out/oci" "$repository:$version" >&2
pushed="$("$crane" digest "$repository:$version")"
[ "$pushed" = "$digest" ] || die "$repository:$version is $pushed in the registry, not the built $digest"
log "pushed $repository:$version@$digest; put this in stacks/Pulumi.$stack.yaml:"
printf '  gpu-node-pools:nodeAgent:\n    pushRepository: %s\n    image: %s:%s@%s\n' "$repository" "$repository" "$version" "$digest"
