# Packs root filesystems into the OCI image with crane: reproducible layer tars, a registry crane serves on
# loopback for the length of the build (crane's mutations work on registry references), then an OCI layout and a
# tarball pulled back out of it. Sourced by tools/image/build.sh; functions only.

IMAGE_PORT=9402  # the agent's metrics port (nodeAgent.port's default)

# layer_tar DIR OUT: a tar of DIR's content that depends on nothing but that content: names sorted, every mtime
# SOURCE_DATE_EPOCH, owner root, no atime/ctime. home/nonroot (when present) goes last, owned by the nonroot user.
layer_tar() {
  local dir="$1" out="$2"
  local common=(--format=posix --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime
    --mtime="@$SOURCE_DATE_EPOCH" --numeric-owner --sort=name -C "$dir")
  tar "${common[@]}" --owner=0 --group=0 --exclude=./home/nonroot -cf "$out" .
  if [ -d "$dir/home/nonroot" ]; then
    tar "${common[@]}" --owner="$IMAGE_UID" --group="$IMAGE_UID" --no-recursion -rf "$out" ./home/nonroot
  fi
}

# registry_start DIR: crane's registry on a free loopback port, blobs under DIR; sets REGISTRY (host:port).
registry_start() {
  local disk="$1" log="$1.log" i
  REGISTRY_LOG="$1.crane"
  mkdir -p "$disk"
  "$CRANE" registry serve --address 127.0.0.1:0 --disk "$disk" >"$log" 2>&1 &
  REGISTRY_PID=$!
  for i in $(seq 100); do
    REGISTRY="127.0.0.1:$(sed -n 's/.*serving on port \([0-9]*\).*/\1/p' "$log")"
    [ "$REGISTRY" != "127.0.0.1:" ] && return 0
    kill -0 "$REGISTRY_PID" 2>/dev/null || break
    sleep 0.1
  done
  die "crane registry serve did not start: $(cat "$log")"
}
registry_stop() { [ -z "${REGISTRY_PID:-}" ] || { kill "$REGISTRY_PID" 2>/dev/null; wait "$REGISTRY_PID" 2>/dev/null || true; }; }

# push_arch ARCH LAYER...: one platform's image from LAYERs (bottom first) on an empty OCI base, with the
# agent's run settings; prints its reference.
push_arch() {
  local arch="$1" ref="$REGISTRY/gpu-node-agent:$1" ref_log="$REGISTRY_LOG.$1"; shift
  local layers=() l; for l in "$@"; do layers+=(-f "$l"); done
  "$CRANE" append --oci-empty-base "${layers[@]}" -t "$ref" >&2 2>"$ref_log" || die "crane append: $(cat "$ref_log")"
  "$CRANE" mutate "$ref" -t "$ref" --set-platform "linux/$arch" --user "$IMAGE_UID:$IMAGE_UID" --workdir / \
    --entrypoint "/usr/bin/python3.11,-m,gpu_node_agent.cli" --cmd run --exposed-ports "$IMAGE_PORT/tcp" \
    -e "PYTHONPATH=$AGENT_PREFIX" -e PYTHONDONTWRITEBYTECODE=1 -e PYTHONUNBUFFERED=1 \
    -e PATH=/usr/local/bin:/usr/bin:/bin -e SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    -l "org.opencontainers.image.title=gpu-node-agent" -l "org.opencontainers.image.version=$AGENT_VERSION" \
    >/dev/null 2>"$ref_log" || die "crane mutate: $(cat "$ref_log")"
  printf '%s\n' "$ref"
}

# export_image OUT REF...: the index of REFs into OUT/oci (OCI layout), OUT/gpu-node-agent-<arch>.tar (docker
# tarballs, one a platform, for `docker load` or `ctr import`) and OUT/digest (the index digest).
export_image() {
  local out="$1" ref idx="$REGISTRY/gpu-node-agent:index"; shift
  local manifests=(); for ref in "$@"; do manifests+=(-m "$ref"); done
  "$CRANE" index append "${manifests[@]}" -t "$idx" >&2
  "$CRANE" pull --format oci "$idx" "$out/oci" >&2
  "$CRANE" digest "$idx" >"$out/digest"
  for ref in "$@"; do
    local arch="${ref##*:}"
    "$CRANE" pull --platform "linux/$arch" "$ref" "$out/gpu-node-agent-$arch.tar" >&2
    "$CRANE" digest "$ref" >"$out/$arch/digest"
    "$CRANE" config "$ref" >"$out/$arch/config.json"
  done
}
