# The files distroless adds on top of the unpacked packages, and what it leaves out. Sourced by
# tools/image/build.sh; functions only.

# The image's only non-root user (distroless' `nonroot`).
IMAGE_UID=65532

# finish_rootfs ROOT: users, CA bundle, /tmp, and no documentation beyond the licences.
finish_rootfs() {
  local root="$1"
  install -d -m 0755 "$root/etc" "$root/home"
  install -d -m 0700 "$root/home/nonroot" "$root/root"
  install -d -m 1777 "$root/tmp"
  printf '%s\n' 'root:x:0:0:root:/root:/sbin/nologin' 'nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin' \
    "nonroot:x:$IMAGE_UID:$IMAGE_UID:nonroot:/home/nonroot:/sbin/nologin" >"$root/etc/passwd"
  printf '%s\n' 'root:x:0:' 'nobody:x:65534:' 'tty:x:5:' "nonroot:x:$IMAGE_UID:" >"$root/etc/group"
  printf '%s\n' 'hosts: files dns' 'networks: files' >"$root/etc/nsswitch.conf"
  # ca-certificates' postinst (never run here) would build the bundle: the same certificates, in name order.
  install -d -m 0755 "$root/etc/ssl/certs"
  find "$root/usr/share/ca-certificates" -name '*.crt' -print0 | LC_ALL=C sort -z | xargs -0 cat \
    >"$root/etc/ssl/certs/ca-certificates.crt"
  [ -s "$root/etc/ssl/certs/ca-certificates.crt" ] || die "no CA certificates in the rootfs (is ca-certificates listed?)"
  # base-files makes /var/local and /var/mail setgid `staff`; nothing in a read-only image needs a set-id bit.
  find "$root" -perm /6000 ! -type l -exec chmod ug-s {} +
  # Keep each package's copyright (licences travel with the binaries); drop manuals and the rest of the docs.
  rm -rf "$root/usr/share/man" "$root/usr/share/info" "$root/usr/share/lintian" "$root/usr/share/locale"
  find "$root/usr/share/doc" -type f ! -name copyright -delete 2>/dev/null || true
  find "$root/usr/share/doc" -depth -type d -empty -delete 2>/dev/null || true
}

# compile_tree PYTHON ROOT DIR...: byte-compiles DIRs (paths inside ROOT) with PYTHON, a Python 3.11 like the
# image's. The root filesystem is read-only at run time, so nothing can be compiled then; unchecked-hash
# bytecode embeds the source's hash instead of its mtime (reproducible) and is never re-validated.
compile_tree() {
  local python="$1" root="$2" dir; shift 2
  for dir in "$@"; do
    "$python" -m compileall -q -j 0 -f --invalidation-mode unchecked-hash -s "$root" -p / "$root$dir" >&2 \
      || die "byte-compiling $dir failed"
  done
}
