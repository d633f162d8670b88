#!/usr/bin/env bash
# `make image-lock`: re-resolves the image's Python lock files to the newest versions node-agent/pyproject.toml
# allows, every file hash included, for Python 3.11 (bookworm's) on any platform (amd64 and arm64 wheels):
#   node-agent/image/requirements.lock        the agent's dependencies (installed with --require-hashes)
#   node-agent/image/build-requirements.lock  the build back-end that makes the agent's wheel
# uv, pinned below, runs from a virtual environment in the cache. Review the diff, then `make image test`.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
cd "$GNP_ROOT"
UV_VERSION=0.13.8
venv="$GNP_CACHE/image/uv-$UV_VERSION"
if [ ! -x "$venv/bin/uv" ]; then
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
fi
lock() { (cd node-agent && "$venv/bin/uv" pip compile --quiet --universal --python-version 3.11 --generate-hashes "${@:3}" \
  --custom-compile-command "make image-lock" "$1" -o "$2"); }
# The pod-resources extra too, so `nodeAgent.podResources` works with the image as built.
lock pyproject.toml image/requirements.lock --extra pod-resources
lock image/build-requirements.in image/build-requirements.lock
log "locked: node-agent/image/requirements.lock, node-agent/image/build-requirements.lock"
