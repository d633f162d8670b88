#!/usr/bin/env bash
# Rewrites what is derived from the config models, for review in the same commit as the model change:
#   docs/config-reference.md (the stack keys' table), the components' TypedDict args (components/gpu_node_pools/
#   pulumi_components/args.py) and the component package's schema as `pulumi package get-schema` prints it
#   (package/schema.json), and the deployer's IAM policy from the AWS resource types the stacks declare
#   (docs/deployer-policy.json). Tests fail while any of them is stale.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

.venv/bin/python scripts/config_reference.py
.venv/bin/python -m gpu_node_pools.provider.typeddicts
.venv/bin/python scripts/deployer_policy.py

toolchain="$(tools/pulumi/build.sh)"
home="$(mktemp -d)"
trap 'rm -rf "$home"' EXIT
PATH="$toolchain:$PWD/.venv/bin:$PATH" PULUMI_HOME="$home" PULUMI_SKIP_UPDATE_CHECK=true \
  PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true pulumi package get-schema ./package > package/schema.json.new
mv package/schema.json.new package/schema.json
echo "[generate] docs/config-reference.md, components/gpu_node_pools/pulumi_components/args.py, package/schema.json," \
  "docs/deployer-policy.json" >&2
