# The node agent's layer: its wheel and its dependencies at the hashes node-agent/image/requirements.lock pins,
# installed for the image's Python (3.11) and architecture with `pip install --target`, then stripped of
# everything that records where it was built. Sourced by tools/image/build.sh; functions only.

AGENT_PREFIX=/opt/gpu-node-agent
AGENT_LOCK="$GNP_ROOT/node-agent/image/requirements.lock"
AGENT_BUILD_LOCK="$GNP_ROOT/node-agent/image/build-requirements.lock"

# pip's --platform tags of the manylinux wheels bookworm's glibc (2.36) loads.
_wheel_platforms() {
  local m="$1" v
  printf -- '--platform\nmanylinux2014_%s\n' "$m"
  for v in $(seq 17 36); do printf -- '--platform\nmanylinux_2_%s_%s\n' "$v" "$m"; done
}

# agent_wheel OUT: builds the agent's wheel into OUT with the hash-pinned build back-end (no build isolation, so
# nothing unpinned is fetched), from a copy of the sources, so the work tree gets no build folders.
agent_wheel() {
  local out="$1" venv src
  venv="$GNP_CACHE/image/build-venv-$(sha256sum "$AGENT_BUILD_LOCK" | cut -c1-8)"
  if [ ! -x "$venv/bin/python" ]; then
    rm -rf "$venv.tmp"
    python3 -m venv "$venv.tmp"
    "$venv.tmp/bin/python" -m pip install -q --disable-pip-version-check --require-hashes -r "$AGENT_BUILD_LOCK" >&2 \
      || die "installing $AGENT_BUILD_LOCK failed"
    mv "$venv.tmp" "$venv"
  fi
  src="$(mktemp -d)"
  cp -r "$GNP_ROOT/node-agent/pyproject.toml" "$GNP_ROOT/node-agent/gpu_node_agent" "$src/"
  find "$src" -name __pycache__ -prune -exec rm -rf {} +
  "$venv/bin/python" -m pip wheel -q --disable-pip-version-check --no-deps --no-build-isolation -w "$out" "$src" >&2 \
    || die "building the agent's wheel failed"
  rm -rf "$src"
}

# install_agent ARCH ROOT WHEELDIR: the dependencies (hashes required, wheels only) and the agent's wheel into
# ROOT/opt/gpu-node-agent.
install_agent() {
  local arch="$1" root="$2" wheels="$3" machine target="$2$AGENT_PREFIX" platforms
  case "$arch" in amd64) machine=x86_64 ;; arm64) machine=aarch64 ;; *) die "unknown architecture $arch" ;; esac
  mapfile -t platforms < <(_wheel_platforms "$machine")
  local pip=("$GNP_ROOT/.venv/bin/python" -m pip install -q --disable-pip-version-check --no-compile --target "$target"
    --only-binary=:all: --implementation cp --python-version 3.11 --abi cp311 --abi abi3 --abi none
    "${platforms[@]}" --platform any)
  # One install, every file hash-checked: the lock, and the wheel just built at its own hash.
  local wheel reqs="$wheels/requirements-$arch.txt"
  wheel="$(echo "$wheels"/gpu_node_agent-*.whl)"
  { cat "$AGENT_LOCK"; echo "$wheel --hash=sha256:$(sha256sum "$wheel" | cut -d' ' -f1)"; } >"$reqs"
  "${pip[@]}" --no-deps --require-hashes -r "$reqs" >&2 || die "installing $AGENT_LOCK and the agent for $arch failed"
  _strip_build_paths "$target"
}

# pip records where it installed from (direct_url.json) and writes console scripts whose first line names the
# build machine's Python; the image runs `python3.11 -m gpu_node_agent.cli`, so both go, and RECORD with them.
_strip_build_paths() {
  local target="$1" record
  rm -rf "$target/bin"
  find "$target" -name direct_url.json -delete
  for record in "$target"/*.dist-info/RECORD; do
    grep -v -e '^\.\./' -e '^bin/' -e '/direct_url\.json,' "$record" >"$record.new" || true
    mv "$record.new" "$record"
  done
  if grep -rlI --exclude='*.pyc' -e "$GNP_ROOT" -e "$GNP_CACHE" "$target" >/dev/null 2>&1; then
    die "the agent's layer still names a build path: $(grep -rlI -e "$GNP_ROOT" -e "$GNP_CACHE" "$target" | head -3)"
  fi
}
