#!/usr/bin/env bash
# Creates .venv (Python >= 3.11) and installs gpu-node-pools and gpu-node-agent with their test extras.
# Re-runs are cheap: the install is skipped while the pyproject files are unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."

python_bin="${PYTHON:-}"
if [ -z "$python_bin" ]; then
  for candidate in python3.13 python3.12 python3.11 python3; do
    if "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      python_bin="$candidate"; break
    fi
  done
fi
[ -n "$python_bin" ] || { echo "error: need Python >= 3.11 on PATH (or set PYTHON=...)" >&2; exit 1; }

[ -x .venv/bin/python ] || { echo "[setup] creating .venv with $python_bin" >&2; "$python_bin" -m venv .venv; }

UV_VERSION=0.13.8  # the version tools/image/lock.sh uses too
stamp=.venv/.gnp-installed
want="$( { echo "uv $UV_VERSION"; cat pyproject.toml; cat node-agent/pyproject.toml 2>/dev/null || true; } | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "[setup] installing packages into .venv" >&2
  pkgs=(-e '.[test]')
  [ -f node-agent/pyproject.toml ] && pkgs+=(-e './node-agent[test]')
  # uv (pinned, from PyPI) installs what pip would, the same versions, from its cache in seconds where pip takes
  # about a minute (docs/development.md, Timings). Build back-ends are chatty; keep their output for failures.
  if ! { .venv/bin/python -m pip install --disable-pip-version-check "uv==$UV_VERSION" \
         && .venv/bin/uv pip install --python .venv/bin/python "${pkgs[@]}"; } > .venv/pip.log 2>&1; then
    tail -n 40 .venv/pip.log >&2
    echo "error: installing the Python packages failed (full log: .venv/pip.log)" >&2
    exit 1
  fi
  echo "$want" > "$stamp"
fi
