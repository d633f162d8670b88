#!/usr/bin/env bash
# Rewrites what is derived from the config models, for review in the same commit as the model change:
#   README.md's config reference table, the component package's TypedDicts (components/gpu_node_pools/provider/
#   args.py) and its schema as `pulumi package get-schema` prints it (package/schema.json).
# Tests fail while any of the three is stale.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

.venv/bin/python - <<'PY'
import pathlib, re
from gpu_node_pools.config.reference import config_reference_markdown
readme = pathlib.Path("README.md")
text = readme.read_text()
readme.write_text(re.sub(r"(<!-- config-reference:start -->\n).*?(<!-- config-reference:end -->)",
                         lambda m: m.group(1) + config_reference_markdown() + "\n" + m.group(2), text, flags=re.S))
PY
.venv/bin/python -m gpu_node_pools.provider.typeddicts

toolchain="$(tools/pulumi/build.sh)"
home="$(mktemp -d)"
trap 'rm -rf "$home"' EXIT
PATH="$toolchain:$PWD/.venv/bin:$PATH" PULUMI_HOME="$home" PULUMI_SKIP_UPDATE_CHECK=true \
  PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true pulumi package get-schema ./package > package/schema.json.new
mv package/schema.json.new package/schema.json
echo "[generate] README.md config table, components/gpu_node_pools/provider/args.py, package/schema.json" >&2
