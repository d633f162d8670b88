# A built image is kept under $GNP_CACHE/image/built/<key>, keyed by a hash of everything the build reads: the
# agent's sources and lock files, the Debian package list and apt's resolution of it (so a new bookworm-security
# version is a new key), the build scripts, the crane and syft pins, SOURCE_DATE_EPOCH and the platforms. Same
# key, same bytes (the build is reproducible), so a rebuild is a copy. Sourced by tools/image/build.sh.

IMAGE_BUILT="$GNP_CACHE/image/built"
IMAGE_KEEP=3  # built images kept; the oldest go first

# image_key ARCH...: the hash of the build's inputs for these platforms (apt_update must have run for each).
image_key() {
  local arch
  {
    printf 'platforms %s\nepoch %s\n' "$*" "$SOURCE_DATE_EPOCH"
    (cd "$GNP_ROOT" && find node-agent/pyproject.toml node-agent/gpu_node_agent node-agent/image tools/image \
      tools/lib.sh -type f -not -path '*/__pycache__/*' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
    for arch in "$@"; do printf 'apt %s\n' "$arch"; apt_candidates "$arch"; done
  } | sha256sum | cut -c1-16
}

# image_reuse KEY OUT: copies the image kept under KEY into OUT; fails when none is kept.
image_reuse() {
  local kept="$IMAGE_BUILT/$1" out="$2"
  [ -f "$kept/digest" ] || return 1
  rm -rf "$out"; mkdir -p "$out"
  cp -a "$kept/." "$out/"
  touch "$kept"
}

# image_keep KEY OUT: keeps a copy of the image just built in OUT under KEY, and drops all but the newest kept.
image_keep() {
  local kept="$IMAGE_BUILT/$1" out="$2" old
  mkdir -p "$IMAGE_BUILT"
  mkdir -p "$kept.$$"
  cp -a "$out/." "$kept.$$/"
  # Another build of the same key may have kept it first: same key, same bytes, so either copy will do.
  rm -rf "$kept"; mv -T "$kept.$$" "$kept" 2>/dev/null || rm -rf "$kept.$$"
  ls -1dt "$IMAGE_BUILT"/*/ | tail -n +$((IMAGE_KEEP + 1)) | while read -r old; do rm -rf "$old"; done
}
