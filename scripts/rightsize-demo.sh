#!/usr/bin/env bash
# The rightsize report on live data (the end of `make up`). Two GPU workloads in a tenant namespace, each on the
# managed GPU node whose simulated GPU replays a trace that fits it (node-agent/examples): Deployment llm-serving on
# the a10g-serving node, StatefulSet trainer on the a10g-training node. The supervisor gives them the nodes' simulated
# GPUs as a kubelet would and the agents label the GPU series with their pods; once they have run a while, the report
# reads them back from the local Prometheus over exactly the time they ran.
#   scripts/rightsize-demo.sh start NAMESPACE                  (after `cluster.sh observe`; prints the start time)
#   scripts/rightsize-demo.sh report PROMETHEUS_URL STARTED    (waits until they ran GNP_RIGHTSIZE_SECONDS, 180)
# Needs `source scripts/env.sh` (kubectl, KUBECONFIG). The workloads stay for a look in Prometheus; make down ends them.
set -euo pipefail
source "$(dirname "$0")/../tools/lib.sh"
cd "$GNP_ROOT"
STATE="$GNP_STATE/kwok/clusters/${GNP_CLUSTER_NAME:-gpu-node-pools}/observability/state.json"
MINIMUM="${GNP_RIGHTSIZE_SECONDS:-180}"
STEP=15  # three scrapes of the local Prometheus (5 s)

# The first node whose agent replays this scenario and that no elastic pool launched.
node_replaying() {
  .venv/bin/python - "$STATE" "$1" "$(kubectl get nodes -l karpenter.sh/nodepool -o name)" <<'PY'
import json, sys
state, scenario, elastic = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3].split()
print(next(n for n, a in sorted(state["agents"].items()) if a.get("scenario") == scenario and f"node/{n}" not in elastic))
PY
}

start() {
  local namespace="$1" taint_key serving training
  taint_key="$(kubectl get nodepools -o jsonpath='{.items[0].spec.template.spec.taints[0].key}')"
  serving="$(node_replaying a10g-serving.yaml)" || die "no GPU node replays a10g-serving.yaml ($STATE)"
  training="$(node_replaying a10g-training.yaml)" || die "no GPU node replays a10g-training.yaml ($STATE)"
  kubectl -n "$namespace" apply -f - >/dev/null <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: {name: llm-serving}
spec:
  replicas: 1
  selector: {matchLabels: {app: llm-serving}}
  template:
    metadata: {labels: {app: llm-serving}}
    spec: $(pod_spec "$serving" "$taint_key" | tr -d "\n")
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: trainer}
spec:
  replicas: 1
  serviceName: trainer
  selector: {matchLabels: {app: trainer}}
  template:
    metadata: {labels: {app: trainer}}
    spec: $(pod_spec "$training" "$taint_key" | tr -d "\n")
YAML
  kubectl -n "$namespace" rollout status deployment/llm-serving --timeout=60s >/dev/null \
    && kubectl -n "$namespace" rollout status statefulset/trainer --timeout=60s >/dev/null \
    || die "the demo GPU workloads did not start in $namespace (kubectl -n $namespace describe pods)"
  log "GPU workloads in $namespace: Deployment llm-serving on $serving, StatefulSet trainer on $training (1 GPU each)"
  date +%s
}

# One GPU, pinned to NODE by name (as a DaemonSet pins its pods), as the tenant's policies require.
pod_spec() {
  cat <<JSON
{"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms":
  [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["$1"]}]}]}}},
 "tolerations": [{"key": "$2", "operator": "Exists"}],
 "securityContext": {"runAsNonRoot": true, "runAsUser": 65532, "seccompProfile": {"type": "RuntimeDefault"}},
 "containers": [{"name": "main", "image": "registry.k8s.io/pause:3.10",
   "securityContext": {"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true, "capabilities": {"drop": ["ALL"]}},
   "resources": {"requests": {"nvidia.com/gpu": "1", "cpu": "100m", "memory": "64Mi"},
                 "limits": {"nvidia.com/gpu": "1", "cpu": "100m", "memory": "64Mi"}}}]}
JSON
}

report() {
  local url="$1" started="$2" ran window
  ran=$(($(date +%s) - started))
  if [ "$ran" -lt "$MINIMUM" ]; then
    log "the workloads have run ${ran}s; waiting $((MINIMUM - ran))s more for ${MINIMUM}s of history"
    sleep $((MINIMUM - ran))
  fi
  # The report's window ends at the last whole step: the time they ran, in whole steps.
  window=$((($(date +%s) - started) / STEP * STEP))
  log "gpu-node-pools rightsize --prometheus $url --window ${window}s --step ${STEP}s"
  .venv/bin/gpu-node-pools rightsize --prometheus "$url" --window "${window}s" --step "${STEP}s" \
    || die "the rightsize report failed on the live Prometheus (above); agents' logs: $(dirname "$STATE")/logs/"
}

case "${1:-}" in
  start) start "$2" ;;
  report) report "$2" "$3" ;;
  *) echo "usage: $0 start NAMESPACE | report PROMETHEUS_URL STARTED" >&2; exit 2 ;;
esac
