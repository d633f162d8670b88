#!/usr/bin/env bash
# `make check`: the layers contract (once pyproject.toml declares it), then every test that needs no Go-built
# toolchain, local cluster, Pulumi engine, image build or network: the unmarked ones (tests/conftest.py names the
# tiers). About a minute on 2 cores; extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
if grep -q '^\[tool\.importlinter\]' pyproject.toml; then
  .venv/bin/lint-imports
fi
exec .venv/bin/python -m pytest -q -m "not (toolchain or cluster or pulumi or image or network)" "$@"
