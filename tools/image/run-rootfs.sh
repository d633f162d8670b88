#!/usr/bin/env bash
# Runs a command inside an unpacked image root filesystem the way the DaemonSet runs the agent, without a
# container engine: its own mount and PID namespaces with a fresh /proc (the runtime's, so process metrics read as in
# a pod), the root read-only, a fresh tmpfs on /tmp (the pod's emptyDir) and on /dev (null, zero, random, urandom
# only), as uid/gid 65532 (chroot --userspec). Needs root, or a kernel that
# lets unshare make a user namespace that maps root.
#
#   tools/image/run-rootfs.sh ROOT [--copy-to-tmp DIR]... -- PROGRAM [ARG...]
#
# --copy-to-tmp puts DIR's content into the new /tmp before the root turns read-only (tests, test tools).
set -euo pipefail
root="$(cd "$1" && pwd)"; shift
copies=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do
  case "$1" in --copy-to-tmp) copies+=("$(cd "$2" && pwd)"); shift 2 ;; *) echo "unknown argument $1" >&2; exit 2 ;; esac
done
[ "${1:-}" = -- ] || { echo "usage: $0 ROOT [--copy-to-tmp DIR]... -- PROGRAM [ARG...]" >&2; exit 2; }
shift
[ -x "$root$1" ] || { echo "error: $1 is not in $root" >&2; exit 2; }

# The part that runs inside the new mount namespace (on the host's shell: the image has none).
inner='
set -eu
root="$1"; shift
mount --rbind "$root" "$root"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$root/tmp"
mount -t tmpfs -o mode=0755,nosuid tmpfs "$root/dev"
mkdir -p "$root/proc"  # the image has no /proc; a runtime makes the mount point the same way
mount -t proc -o nosuid,nodev,noexec proc "$root/proc"
for d in null zero random urandom; do touch "$root/dev/$d"; mount --bind "/dev/$d" "$root/dev/$d"; done
while [ "$1" != -- ]; do cp -r "$1/." "$root/tmp/"; shift; done
shift
chmod -R a+rX "$root/tmp"
mount -o remount,bind,ro "$root"
exec env -i HOME=/home/nonroot PATH=/usr/bin:/bin PYTHONPATH=/opt/gpu-node-agent:/tmp/site \
  PYTHONDONTWRITEBYTECODE=1 "$(command -v chroot)" --userspec=65532:65532 "$root" "$@"
'
if [ "$(id -u)" = 0 ]; then ns=(unshare --mount --pid --propagation private --fork)
else ns=(unshare --user --map-root-user --mount --pid --propagation private --fork); fi
exec "${ns[@]}" bash -c "$inner" run-rootfs "$root" "${copies[@]}" -- "$@"
