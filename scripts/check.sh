#!/usr/bin/env bash
# `make check`: every test that needs no Go-built toolchain, local cluster, Pulumi engine, image build, network or
# browser: the unmarked ones (tests/conftest.py names the tiers), the layers contract (tests/test_layers.py) among
# them.
# About a minute on 2 cores, in two pytest-xdist workers (GNP_TEST_WORKERS=0: one process); extra arguments go to
# pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/python -m pytest -q -n "${GNP_TEST_WORKERS:-2}" --dist loadgroup \
  -m "not (toolchain or cluster or pulumi or image or network or browser)" "$@"
