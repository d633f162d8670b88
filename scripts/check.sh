#!/usr/bin/env bash
# `make check`: every test that needs no Go-built toolchain, local cluster, Pulumi engine, image build or network:
# the unmarked ones (tests/conftest.py names the tiers), the layers contract (tests/test_layers.py) among them.
# About a minute on 2 cores; extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/python -m pytest -q -m "not (toolchain or cluster or pulumi or image or network)" "$@"
