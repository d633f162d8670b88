#!/usr/bin/env bash
# The elastic GPU pool at work (the last step of `make up`): a small GPU Job in a tenant namespace scales the
# stack's first elastic pool up from zero through the local Karpenter, the GPU readout lists the new node, and
# Karpenter gives the node back once it has been empty for the pool's consolidateAfter.
#   scripts/elastic-demo.sh NAMESPACE     (after `source scripts/env.sh`: kubectl and KUBECONFIG)
set -euo pipefail
source "$(dirname "$0")/../tools/lib.sh"
cd "$GNP_ROOT"
NAMESPACE="$1"
JOB=gpu-smoke

pool="$(kubectl get nodepools -o jsonpath='{.items[0].metadata.name}')"
[ -n "$pool" ] || { log "the stack declares no elastic pool: nothing to show"; exit 0; }
taint_key="$(kubectl get nodepool "$pool" -o jsonpath='{.spec.template.spec.taints[0].key}')"
consolidate_after="$(kubectl get nodepool "$pool" -o jsonpath='{.spec.disruption.consolidateAfter}')"
nodes() { kubectl get nodes -l "karpenter.sh/nodepool=$pool" -o name; }
[ -z "$(nodes)" ] || die "elastic pool $pool already has nodes; this step shows a scale-up from zero"

log "elastic pool $pool: 0 nodes; submitting a 1-GPU Job to namespace $NAMESPACE"
kubectl -n "$NAMESPACE" delete job "$JOB" --ignore-not-found --wait >/dev/null
start=$SECONDS
kubectl -n "$NAMESPACE" apply -f - >/dev/null <<YAML
apiVersion: batch/v1
kind: Job
metadata: {name: $JOB}
spec:
  backoffLimit: 0
  ttlSecondsAfterFinished: 300
  template:
    spec:
      restartPolicy: Never
      nodeSelector: {gpu-node-pools.io/pool: $pool}
      tolerations: [{key: $taint_key, operator: Exists}]
      securityContext: {runAsNonRoot: true, runAsUser: 65532, seccompProfile: {type: RuntimeDefault}}
      containers:
        - name: smoke
          image: registry.k8s.io/pause:3.10
          securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}
          resources:
            requests: {nvidia.com/gpu: "1", cpu: 100m, memory: 64Mi}
            limits: {nvidia.com/gpu: "1", cpu: 100m, memory: 64Mi}
YAML
kubectl -n "$NAMESPACE" wait --for=condition=Complete "job/$JOB" --timeout=120s >/dev/null \
  || die "the GPU Job did not complete on the elastic pool (kubectl get nodeclaims; .state/kwok/clusters/*/logs/karpenter.log)"
node="$(kubectl -n "$NAMESPACE" get pods -l "job-name=$JOB" -o jsonpath='{.items[0].spec.nodeName}')"
log "Karpenter launched $node ($(kubectl get node "$node" -o jsonpath='{.metadata.labels.node\.kubernetes\.io/instance-type}, {.metadata.labels.karpenter\.sh/capacity-type}')); the Job ran there, $((SECONDS - start))s after submission"
.venv/bin/gpu-node-agent cluster --kubeconfig "$KUBECONFIG"
kubectl -n "$NAMESPACE" delete job "$JOB" --wait >/dev/null
start=$SECONDS
log "Job done and deleted; the empty node goes back after consolidateAfter ($consolidate_after)"
for _ in $(seq 180); do [ -n "$(nodes)" ] || break; sleep 1; done
[ -z "$(nodes)" ] || die "elastic pool $pool still has nodes 180s after its work ended"
log "elastic pool $pool: back to 0 nodes, $((SECONDS - start))s after the work ended"
