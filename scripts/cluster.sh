#!/usr/bin/env bash
# The local cluster: a real kube-apiserver, etcd, kube-controller-manager and kube-scheduler run by kwokctl as
# host processes, simulated nodes (kwok) mirroring the pools of a stack, and a real metrics-server serving
# metrics.k8s.io from kwok's simulated kubelet metrics.
#
#   scripts/cluster.sh up      start it (no-op when running) and create the nodes of $GNP_STACK (default local)
#   scripts/cluster.sh status  say whether it runs and list its nodes
#   scripts/cluster.sh down    stop every process and delete its state
#   scripts/cluster.sh stop|start  stop the processes keeping etcd's data, and start them again (outage drills)
#
# Kubeconfig: $GNP_STATE/kubeconfig (.state/kubeconfig). GNP_NODES_FILE=FILE applies that Node YAML instead of
# `gpu-node-pools simulated-nodes --stack $GNP_STACK`.
set -euo pipefail
source "$(dirname "$0")/../tools/lib.sh"

CLUSTER_NAME="${GNP_CLUSTER_NAME:-gpu-node-pools}"
STACK="${GNP_STACK:-local}"
KUBECONFIG_PATH="$GNP_STATE/kubeconfig"
# kwokctl keeps its pids, certificates, etcd data and logs here instead of ~/.kwok.
export KWOK_WORKDIR="$GNP_STATE/kwok"

kwokctl_() { "$GNP_KWOKCTL" --name "$CLUSTER_NAME" "$@"; }
kubectl_() { kubectl --kubeconfig "$KUBECONFIG_PATH" "$@"; }

running() {
  [ -f "$KUBECONFIG_PATH" ] && kubectl_ get --raw /readyz --request-timeout=5s >/dev/null 2>&1
}

simulated_nodes() {
  "$GNP_ROOT/scripts/setup.sh"
  if [ -n "${GNP_NODES_FILE:-}" ]; then cat "$GNP_NODES_FILE"; else
    "$GNP_ROOT/.venv/bin/gpu-node-pools" simulated-nodes --stack "$STACK"
  fi | with_metrics_path
}

# metrics-server reads a node's resource metrics from the path in this annotation; kwok serves every node's
# simulated kubelet metrics on one port, under /metrics/nodes/<name>/metrics/resource.
with_metrics_path() {
  "$GNP_ROOT/.venv/bin/python" -c '
import sys, yaml
nodes = [n for n in yaml.safe_load_all(sys.stdin) if n]
for n in nodes:
    n["metadata"].setdefault("annotations", {})["metrics.k8s.io/resource-metrics-path"] = (
        "/metrics/nodes/%s/metrics/resource" % n["metadata"]["name"])
yaml.safe_dump_all(nodes, sys.stdout)'
}

up() {
  command -v kubectl >/dev/null || die "kubectl is not on PATH (kwokctl and these scripts use it)."
  source "$GNP_ROOT/tools/controlplane/paths.sh"
  mkdir -p "$GNP_STATE"
  if running; then
    log "cluster $CLUSTER_NAME already running ($KUBECONFIG_PATH)"
  else
    # A cluster left behind by a crash (processes gone, state kept) would make create fail: clear it first.
    kwokctl_ delete cluster --kubeconfig "$KUBECONFIG_PATH" >/dev/null 2>&1 || true
    log "starting cluster $CLUSTER_NAME (kube $GNP_KUBE_VERSION) ..."
    # metrics.k8s.io is served by a real metrics-server on the host, registered through our own small manifest
    # (kwokctl's default downloads upstream's, and its Service name would clash with the stack's own).
    cat > "$GNP_STATE/kwokctl.yaml" <<YAML
apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokctlConfiguration
options:
  metricsServerManifests:
    - $GNP_ROOT/tools/controlplane/metrics-api
YAML
    KWOK_KUBE_VERSION="$GNP_KUBE_VERSION" \
    KWOK_KUBECTL_BINARY="$(command -v kubectl)" \
      kwokctl_ --config "$GNP_STATE/kwokctl.yaml" create cluster \
        --runtime binary \
        --kubeconfig "$KUBECONFIG_PATH" \
        --kube-apiserver-binary "$GNP_KUBE_APISERVER" \
        --kube-controller-manager-binary "$GNP_KUBE_CONTROLLER_MANAGER" \
        --kube-scheduler-binary "$GNP_KUBE_SCHEDULER" \
        --etcd-binary "$GNP_ETCD" \
        --kwok-controller-binary "$GNP_KWOK" \
        --enable metrics-server --metrics-server-binary "$GNP_METRICS_SERVER" \
        --kube-authorization --kube-admission \
        --wait 3m >"$GNP_STATE/kwokctl.log" 2>&1 \
      || { tail -n 20 "$GNP_STATE/kwokctl.log" >&2
           die "kwokctl could not start the cluster; see $GNP_STATE/kwokctl.log and $KWOK_WORKDIR/clusters/$CLUSTER_NAME/logs/"; }
  fi
  log "creating the simulated nodes of stack '$STACK'"
  local nodes; nodes="$(simulated_nodes)" || die "could not produce the simulated nodes of stack '$STACK'"
  printf '%s\n' "$nodes" | kubectl_ apply --server-side --field-manager=gnp-cluster -f - >/dev/null
  local names; names="$(printf '%s\n' "$nodes" | kubectl_ create --dry-run=client -o name -f - | sed 's|^node/||')"
  # kwok marks them Ready within seconds; waiting here means callers can schedule right away. One list per
  # poll: `kubectl wait` on a thousand nodes takes minutes.
  local want ready deadline=$((SECONDS + 180))
  want="$(printf '%s\n' "$names" | wc -l)"
  while :; do
    ready="$(kubectl_ get nodes -o jsonpath='{range .items[*]}{.metadata.name} {.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' \
      | awk '$2 == "True" {print $1}' | grep -cxFf <(printf '%s\n' "$names") || true)"
    [ "$ready" -ge "$want" ] && break
    [ "$SECONDS" -lt "$deadline" ] \
      || die "$ready of $want simulated nodes Ready after 180s; see kubectl --kubeconfig $KUBECONFIG_PATH get nodes"
    sleep 1
  done
  log "cluster $CLUSTER_NAME is up with $want simulated nodes"
  log "use it: export KUBECONFIG=$KUBECONFIG_PATH"
}

status() {
  if running; then
    echo "cluster $CLUSTER_NAME: running (KUBECONFIG=$KUBECONFIG_PATH)"
    kubectl_ get nodes -L node.kubernetes.io/instance-type,nvidia.com/gpu.present
  else
    echo "cluster $CLUSTER_NAME: not running"
    return 3
  fi
}

down() {
  if [ -d "$KWOK_WORKDIR/clusters/$CLUSTER_NAME" ]; then
    source "$GNP_ROOT/tools/controlplane/paths.sh"
    log "stopping cluster $CLUSTER_NAME"
    kwokctl_ delete cluster --kubeconfig "$KUBECONFIG_PATH" >"$GNP_STATE/kwokctl.log" 2>&1 \
      || { tail -n 20 "$GNP_STATE/kwokctl.log" >&2; die "kwokctl could not delete cluster $CLUSTER_NAME"; }
    log "cluster $CLUSTER_NAME stopped and deleted"
  else
    log "cluster $CLUSTER_NAME is not running"
  fi
  rm -f "$KUBECONFIG_PATH" "$GNP_STATE/kwokctl.yaml"
}

# stop|start: kwokctl stops and restarts every component of the cluster; etcd's data and the nodes survive.
pause_or_resume() {
  [ -d "$KWOK_WORKDIR/clusters/$CLUSTER_NAME" ] || die "cluster $CLUSTER_NAME does not exist; run: $0 up"
  source "$GNP_ROOT/tools/controlplane/paths.sh"
  kwokctl_ "$1" cluster >"$GNP_STATE/kwokctl.log" 2>&1 \
    || { tail -n 20 "$GNP_STATE/kwokctl.log" >&2; die "kwokctl $1 cluster failed"; }
  log "cluster $CLUSTER_NAME: $1 done"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  stop|start) pause_or_resume "$1" ;;
  *) echo "usage: $0 up|down|status|stop|start" >&2; exit 2 ;;
esac
