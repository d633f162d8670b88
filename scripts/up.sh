#!/usr/bin/env bash
# `make up`: from a fresh machine to the GPU platform deployed by a real `pulumi up` on the local cluster.
#   set-up (.venv) -> toolchain (built once from Go modules, cached) -> the agent image (make image, by digest)
#   -> local cluster (every part serving) -> pulumi up --stack local --yes, guarded by the policy pack
#   -> live agents + Prometheus, two GPU workloads -> checks -> GPU readout -> the elastic GPU pool scaling up from
#   zero for a small GPU Job and giving the node back -> the rightsize report over the time the workloads ran
# It says done only when every part it started serves; otherwise it names what does not and exits non-zero.
set -euo pipefail
source "$(dirname "$0")/../tools/lib.sh"
cd "$GNP_ROOT"
STACK=local

step() { log "==> $*"; }

step "1/10 set-up: .venv and packages"
scripts/setup.sh

step "2/10 toolchain: control plane, kubectl, Pulumi CLI, Kubernetes provider, Karpenter, crane, syft (first run builds them)"
tools/build.sh

step "3/10 the node agent's image (make image: Debian packages + the agent, packed by crane)"
tools/image/build.sh --out build/image

step "4/10 local cluster with the $STACK stack's simulated nodes"
was_running=true
scripts/cluster.sh status >/dev/null 2>&1 || was_running=false
scripts/cluster.sh up

step "5/10 pulumi up --stack $STACK --policy-pack policies"
# The stack file's nodeAgent.imageBuild names build/image: the program deploys the image step 3 built, by its
# digest, so a hand-driven `pulumi preview --stack $STACK` after this reads the same config and sees no change.
# A cluster started just now has none of the objects an earlier deployment left in the stack's state.
up_flags=()
$was_running || up_flags+=(--refresh)
scripts/stack-up.sh "$STACK" "${up_flags[@]}"
source scripts/env.sh
log "node agent image: $(kubectl get daemonsets -A -l app.kubernetes.io/name=gpu-node-agent \
  -o jsonpath='{.items[0].spec.template.spec.containers[0].image}')"

step "6/10 live GPU data: a gpu-node-agent process per GPU node (its pod's node-bound token), Prometheus with the stack's rules, two GPU workloads"
scripts/cluster.sh observe
workloads_started="$(scripts/rightsize-demo.sh start ml-team)"

step "7/10 checks: every cluster component running, nodes Ready, metrics API answering, agents scraped, the stack deployed"
scripts/cluster.sh check
# `pulumi up` waited for every workload it created; a preview with no changes says the stack is what the code says.
pulumi preview --stack "$STACK" --expect-no-changes --non-interactive >/dev/null \
  || die "pulumi preview --stack $STACK shows changes right after the update: the stack is not what the code declares"

step "8/10 GPU readout, and where the platform's pods run (GPU daemons on GPU nodes only, add-ons off them)"
PROMETHEUS_URL="http://127.0.0.1:${GNP_PROMETHEUS_PORT:-9090}"
.venv/bin/gpu-node-agent cluster --kubeconfig "$KUBECONFIG" --prometheus "$PROMETHEUS_URL"
echo
kubectl get pods -A --sort-by=.spec.nodeName \
  -o custom-columns='NODE:.spec.nodeName,NAMESPACE:.metadata.namespace,POD:.metadata.name,PHASE:.status.phase'

step "9/10 elastic GPU pool: a small GPU Job scales it up from zero, and the idle node is given back"
scripts/elastic-demo.sh ml-team

step "10/10 rightsizing: per-workload GPU use from the agents' pod-labelled series, and what to change"
scripts/rightsize-demo.sh report "$PROMETHEUS_URL" "$workloads_started"
log "done: every part serves. source scripts/env.sh; kubectl get nodes,pods -A  |  make down to stop"
log "Prometheus: $PROMETHEUS_URL (web UI; firing alerts: $PROMETHEUS_URL/api/v1/alerts)"
# A link to the UI's graph of GPU utilization per workload over the last 15 minutes (docs/local-cluster.md).
log "GPU use per workload: $PROMETHEUS_URL/query?$(.venv/bin/python -c 'import sys, urllib.parse
print(urllib.parse.urlencode({"g0.expr": sys.argv[1], "g0.tab": "graph", "g0.range_input": "15m"}))' \
  'avg by (namespace, pod) (gpu_node_agent_gpu_utilization_ratio{pod!=""})')"
