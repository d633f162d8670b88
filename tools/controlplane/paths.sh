#!/usr/bin/env bash
# The local control-plane binaries, built or found by build.sh (which it runs: instant once cached).
#   source tools/controlplane/paths.sh   -> exports GNP_KUBE_APISERVER, GNP_ETCD, GNP_KWOKCTL, ... in this shell
#   tools/controlplane/paths.sh          -> prints the export lines
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  exec "$(dirname "$0")/build.sh"
fi
_gnp_exports="$("$(dirname "${BASH_SOURCE[0]}")/build.sh")" || return 1
eval "$_gnp_exports"
unset _gnp_exports
