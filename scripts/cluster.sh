#!/usr/bin/env bash
# The local cluster: a real kube-apiserver, etcd, kube-controller-manager and kube-scheduler run by kwokctl as
# host processes, simulated nodes (kwok) mirroring the managed pools of a stack, a real metrics-server serving
# metrics.k8s.io from kwok's simulated kubelet metrics, and the real Karpenter controller (its kwok cloud
# provider) launching the nodes of elastic pools, with its CRDs and a KWOKNodeClass. A watchdog
# (scripts/watchdog.py) restarts a component that dies and records what it saw.
#
#   scripts/cluster.sh up      start it (no-op when running), create the nodes of $GNP_STACK (default local),
#                              and return only when every part serves (see `check`)
#   scripts/cluster.sh check   every component running, API ready, nodes Ready, metrics API answering, Karpenter ready
#   scripts/cluster.sh status  say whether it runs: components, restarts, nodes
#   scripts/cluster.sh down    stop every process and delete its state, whatever state it is in
#   scripts/cluster.sh stop|start  stop the processes keeping etcd's data, and start them again (outage drills)
#   scripts/cluster.sh drop-aggregated-apis  unregister metrics.k8s.io & co. before a teardown (make down)
#   scripts/cluster.sh observe       after the stack is deployed: a live gpu-node-agent per GPU node and a real
#                                    Prometheus (scripts/local_observability.py); returns once all are scraped
#   scripts/cluster.sh observe-stop  stop them (down does too)
#
# Kubeconfig: $GNP_STATE/kubeconfig (.state/kubeconfig). GNP_NODES_FILE=FILE applies that Node YAML instead of
# `python -m gpu_node_pools.script_commands simulated-nodes --stack $GNP_STACK`.
set -euo pipefail
source "$(dirname "$0")/../tools/lib.sh"

CLUSTER_NAME="${GNP_CLUSTER_NAME:-gpu-node-pools}"
STACK="${GNP_STACK:-local}"
KUBECONFIG_PATH="$GNP_STATE/kubeconfig"
# kwokctl keeps its pids, certificates, etcd data and logs here instead of ~/.kwok.
export KWOK_WORKDIR="$GNP_STATE/kwok"
CLUSTER_DIR="$KWOK_WORKDIR/clusters/$CLUSTER_NAME"
WATCHDOG_PID="$CLUSTER_DIR/watchdog.pid"
WATCHDOG_STATE="$CLUSTER_DIR/watchdog.json"
# Karpenter's health port (for `check`), beside kwokctl's config for this cluster.
KARPENTER_HEALTH_PORT_FILE="$KWOK_WORKDIR/karpenter-health-port-$CLUSTER_NAME"
OBS_DIR="$CLUSTER_DIR/observability"
OBS_PID="$CLUSTER_DIR/observability.pid"
PROMETHEUS_PORT="${GNP_PROMETHEUS_PORT:-9090}"
AGENT_BASE_PORT="${GNP_AGENT_BASE_PORT:-9500}"
PYTHON="$GNP_ROOT/.venv/bin/python"
[ -x "$PYTHON" ] || PYTHON=python3

# The built binaries (instant once cached; builds what is missing, with progress, on a fresh machine).
binaries() { [ -n "${GNP_KUBECTL:-}" ] || source "$GNP_ROOT/tools/controlplane/paths.sh"; }
# The same without building anything: status, check and down never start a build.
built_binaries() {
  [ -n "${GNP_KUBECTL:-}" ] && return 0
  local exports
  exports="$(bash -c 'source "$1/tools/lib.sh"; load_sets; controlplane_exports; karpenter_exports' _ "$GNP_ROOT" 2>/dev/null)" \
    && eval "$exports"
}
kwokctl_() { "$GNP_KWOKCTL" --name "$CLUSTER_NAME" "$@"; }
kubectl_() { "$GNP_KUBECTL" --kubeconfig "$KUBECONFIG_PATH" "$@"; }

running() {
  [ -f "$KUBECONFIG_PATH" ] && [ -d "$CLUSTER_DIR" ] && built_binaries \
    && kubectl_ get --raw /readyz --request-timeout=5s >/dev/null 2>&1
}

simulated_nodes() {
  "$GNP_ROOT/scripts/setup.sh"
  if [ -n "${GNP_NODES_FILE:-}" ]; then cat "$GNP_NODES_FILE"; else
    "$GNP_ROOT/.venv/bin/python" -m gpu_node_pools.script_commands simulated-nodes --stack "$STACK"
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

# A TCP port nothing listens on now (Karpenter's metrics and health ports: two clusters may run side by side).
free_port() { "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# The control plane's ports, picked by the kernel at random. kwokctl's own pick counts down from 32767, so a cluster
# created while another is stopped (`cluster.sh stop`) would take that one's ports, and its restart would fail or,
# worse, reach the other cluster's API server.
control_plane_ports() {
  "$PYTHON" -c '
import socket
keys = ["kubeApiserverPort", "etcdPort", "etcdPeerPort", "kubeControllerManagerPort", "kubeSchedulerPort",
        "kwokControllerPort", "metricsServerPort"]
held = [socket.socket() for _ in keys]
for s in held:
    s.bind(("127.0.0.1", 0))
for key, s in zip(keys, held):
    print(f"  {key}: {s.getsockname()[1]}")'
}

# The kwokctl component that runs Karpenter (core controller, kwok provider) on the host, like metrics-server:
# kwokctl starts and stops it with the cluster, the watchdog restarts it. scripts/kwok/karpenter starts it once
# its CRDs are served. Out of cluster it takes the kubeconfig only from KUBECONFIG and needs no leader election;
# its flag names the cluster folder, so a leftover process is found by `down` like the others.
karpenter_component() {
  local metrics_port health_port
  metrics_port="$(free_port)"; health_port="$(free_port)"
  echo "$health_port" >"$KARPENTER_HEALTH_PORT_FILE"
  cat <<YAML
components:
  - name: karpenter
    binary: $GNP_ROOT/scripts/kwok/karpenter
    links: [kube-apiserver]
    workDir: "$CLUSTER_DIR"
    args: ["--instance-types-file-path=$CLUSTER_DIR/karpenter-instance-types.json"]
    envs:
      - {name: KUBECONFIG, value: "$CLUSTER_DIR/kubeconfig.yaml"}
      - {name: GNP_KARPENTER, value: "$GNP_KARPENTER"}
      - {name: GNP_KARPENTER_CRDS, value: "$GNP_KARPENTER_CRDS"}
      - {name: GNP_KUBECTL, value: "$GNP_KUBECTL"}
      - {name: DISABLE_LEADER_ELECTION, value: "true"}
      # Node repair on, as on EKS: the kwok provider replaces a node whose KWOKUnhealthy condition (written by the
      # node agent, stacks/local.yaml nodeAgent.nodeRepair) has been True for 30 s.
      - {name: FEATURE_GATES, value: "NodeRepair=true"}
      - {name: METRICS_PORT, value: "$metrics_port"}
      - {name: HEALTH_PROBE_PORT, value: "$health_port"}
YAML
}

# Karpenter's CRDs (its kwok variant's), then the KWOKNodeClass every local NodePool names.
install_karpenter_objects() {
  kubectl_ apply --server-side --field-manager=gnp-cluster -f "$GNP_KARPENTER_CRDS" >/dev/null
  kubectl_ wait --for condition=established --timeout=60s -f "$GNP_KARPENTER_CRDS" >/dev/null
  kubectl_ apply --server-side --field-manager=gnp-cluster -f - >/dev/null <<YAML
apiVersion: karpenter.kwok.sh/v1alpha1
kind: KWOKNodeClass
metadata:
  name: default
YAML
}

karpenter_ready() {
  local port; port="$(cat "$KARPENTER_HEALTH_PORT_FILE" 2>/dev/null)" || return 1
  "$PYTHON" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=3)' \
    "http://127.0.0.1:$port/readyz" >/dev/null 2>&1
}

# wait_until SECONDS WHAT CMD... : polls CMD once a second; dies naming WHAT (and the logs) when time runs out.
wait_until() {
  local limit="$1" what="$2" deadline=$((SECONDS + $1)); shift 2
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || die "$what: not after ${limit}s; logs in $CLUSTER_DIR/logs/ (scripts/cluster.sh status)"
    sleep 1
  done
}

# A live process: `kill -0` also succeeds on a zombie (dead, waiting for a parent that may never reap it).
pid_alive() { [ -n "$1" ] && [ -r "/proc/$1/stat" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }
watchdog_alive() { [ -f "$WATCHDOG_PID" ] && pid_alive "$(cat "$WATCHDOG_PID")"; }

start_watchdog() {
  watchdog_alive && return 0
  setsid "$PYTHON" "$GNP_ROOT/scripts/watchdog.py" --cluster-dir "$CLUSTER_DIR" --kwokctl "$GNP_KWOKCTL" \
    --name "$CLUSTER_NAME" --state-file "$WATCHDOG_STATE" >>"$CLUSTER_DIR/logs/watchdog.log" 2>&1 </dev/null &
  echo $! >"$WATCHDOG_PID"
}

stop_watchdog() {
  if watchdog_alive; then
    local pid; pid="$(cat "$WATCHDOG_PID")"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do pid_alive "$pid" || break; sleep 0.1; done
  fi
  rm -f "$WATCHDOG_PID"
}

observability_alive() { [ -f "$OBS_PID" ] && pid_alive "$(cat "$OBS_PID")"; }

stop_observability() {
  if observability_alive; then
    local pid; pid="$(cat "$OBS_PID")"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 150); do pid_alive "$pid" || break; sleep 0.1; done
  fi
  rm -f "$OBS_PID"
}

# Every agent the supervisor planned is running and Prometheus scrapes each of them successfully.
observability_ready() {
  "$PYTHON" - "$OBS_DIR/state.json" "http://127.0.0.1:$PROMETHEUS_PORT" <<'PY'
import json, sys, urllib.parse, urllib.request
state = json.load(open(sys.argv[1]))
agents = state["agents"]
assert agents and all(a["running"] for a in agents.values()) and state["prometheus"]["running"]
query = urllib.parse.urlencode({"query": 'up{job="gpu-node-agent"} == 1'})
with urllib.request.urlopen(f"{sys.argv[2]}/api/v1/query?{query}", timeout=5) as resp:
    up = {r["metric"].get("node") for r in json.load(resp)["data"]["result"]}
assert up >= set(agents), sorted(set(agents) - up)
PY
}

observe() {
  running || die "cluster $CLUSTER_NAME is not running; run: $0 up (and deploy the stack)"
  eval "$("$GNP_ROOT/tools/prometheus/build.sh")"
  stop_observability
  rm -rf "$OBS_DIR"; mkdir -p "$OBS_DIR"
  log "starting a gpu-node-agent per GPU node and Prometheus on :$PROMETHEUS_PORT (log: $CLUSTER_DIR/logs/observability.log)"
  setsid "$PYTHON" "$GNP_ROOT/scripts/local_observability.py" --dir "$OBS_DIR" --kubectl "$GNP_KUBECTL" \
    --kubeconfig "$KUBECONFIG_PATH" --prometheus "$GNP_PROMETHEUS" --stack "$STACK" \
    --prometheus-port "$PROMETHEUS_PORT" --agent-base-port "$AGENT_BASE_PORT" \
    >>"$CLUSTER_DIR/logs/observability.log" 2>&1 </dev/null &
  echo $! >"$OBS_PID"
  wait_until 90 "every GPU node's agent running and scraped by Prometheus" observability_ready
  log "live agents: $("$PYTHON" -c 'import json,sys; print(", ".join(f"{n} :{a['"'"'port'"'"']}" for n, a in json.load(open(sys.argv[1]))["agents"].items()))' "$OBS_DIR/state.json")"
  log "Prometheus: http://127.0.0.1:$PROMETHEUS_PORT (web UI; alerts: /api/v1/alerts, rules: /api/v1/rules)"
}

# The aggregated metrics API answers (an empty list counts: kwok reports no usage for a node without pods, and
# `kubectl top nodes` then says "metrics not available yet" although metrics-server serves).
metrics_api_answers() {
  kubectl_ get --raw /apis/metrics.k8s.io/v1beta1/nodes --request-timeout=5s >/dev/null 2>&1
}

nodes_ready() {
  local names="$1" want ready
  want="$(printf '%s\n' "$names" | wc -l)"
  ready="$(kubectl_ get nodes -o jsonpath='{range .items[*]}{.metadata.name} {.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' \
    | awk '$2 == "True" {print $1}' | grep -cxFf <(printf '%s\n' "$names") || true)"
  [ "$ready" -ge "$want" ]
}

up() {
  binaries
  mkdir -p "$GNP_STATE"
  if running; then
    log "cluster $CLUSTER_NAME already running ($KUBECONFIG_PATH)"
    start_watchdog
  else
    # A cluster left behind by a crash (processes gone, state kept) would make create fail: clear it first.
    down >/dev/null 2>&1 || true
    log "starting cluster $CLUSTER_NAME (kube $GNP_KUBE_VERSION): etcd, kube-apiserver, controller-manager, scheduler, kwok"
    # metrics.k8s.io is served by a real metrics-server on the host, registered through our own small manifest
    # (kwokctl's default downloads upstream's, and its Service name would clash with the stack's own).
    mkdir -p "$KWOK_WORKDIR" "$CLUSTER_DIR"
    "$GNP_ROOT/scripts/setup.sh"
    # The stack's shared elastic pools launch their own copies of the types, advertising shares.
    "$GNP_ROOT/.venv/bin/python" -m gpu_node_pools.script_commands kwok-instance-types --stack "$STACK" \
      >"$CLUSTER_DIR/karpenter-instance-types.json"
    { cat <<YAML
apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokctlConfiguration
options:
  metricsServerManifests:
    - $GNP_ROOT/tools/controlplane/metrics-api
YAML
      control_plane_ports
      karpenter_component; } > "$KWOK_WORKDIR/kwokctl-$CLUSTER_NAME.yaml"
    KWOK_KUBE_VERSION="$GNP_KUBE_VERSION" \
    KWOK_KUBECTL_BINARY="$GNP_KUBECTL" \
      kwokctl_ --config "$KWOK_WORKDIR/kwokctl-$CLUSTER_NAME.yaml" create cluster \
        --runtime binary \
        --kubeconfig "$KUBECONFIG_PATH" \
        --kube-apiserver-binary "$GNP_KUBE_APISERVER" \
        --kube-controller-manager-binary "$GNP_KUBE_CONTROLLER_MANAGER" \
        --kube-scheduler-binary "$GNP_KUBE_SCHEDULER" \
        --etcd-binary "$GNP_ETCD" \
        --kwok-controller-binary "$GNP_KWOK" \
        --enable metrics-server --metrics-server-binary "$GNP_METRICS_SERVER" \
        --kube-authorization --kube-admission \
        --wait 3m >"$GNP_STATE/kwokctl-$CLUSTER_NAME.log" 2>&1 \
      || { tail -n 20 "$GNP_STATE/kwokctl-$CLUSTER_NAME.log" >&2
           down >/dev/null 2>&1 || true
           die "kwokctl could not start the cluster; see $GNP_STATE/kwokctl-$CLUSTER_NAME.log"; }
    # kwokctl starts metrics-server as soon as the API server's process exists, before it listens; such a
    # metrics-server exits at once. The watchdog starts whatever is not running, now and whenever it dies.
    start_watchdog
  fi
  wait_until 60 "kube-apiserver ready (/readyz)" kubectl_ get --raw /readyz --request-timeout=5s
  log "installing Karpenter's CRDs and the KWOKNodeClass (elastic pools' nodes come from Karpenter)"
  install_karpenter_objects

  log "creating the simulated nodes of stack '$STACK'"
  local nodes names
  nodes="$(simulated_nodes)" || die "could not produce the simulated nodes of stack '$STACK'"
  printf '%s\n' "$nodes" | kubectl_ apply --server-side --field-manager=gnp-cluster -f - >/dev/null
  names="$(printf '%s\n' "$nodes" | kubectl_ create --dry-run=client -o name -f - | sed 's|^node/||')"
  # kwok marks them Ready within seconds. One list per poll: `kubectl wait` on a thousand nodes takes minutes.
  wait_until 180 "$(printf '%s\n' "$names" | wc -l) simulated nodes Ready" nodes_ready "$names"
  log "waiting for the metrics API (metrics-server on the host)"
  wait_until 120 "metrics.k8s.io answering" metrics_api_answers
  log "waiting for Karpenter (host process, kwok provider) to be ready"
  wait_until 120 "Karpenter ready (/readyz)" karpenter_ready
  check >/dev/null || { check; die "cluster $CLUSTER_NAME started, but not every part serves (above)"; }
  log "cluster $CLUSTER_NAME is up: $(printf '%s\n' "$names" | wc -l) simulated nodes Ready, metrics API answering"
  log "use it: export KUBECONFIG=$KUBECONFIG_PATH (kubectl: $GNP_KUBECTL)"
}

# Prints one line per component and per check; exits non-zero when anything does not serve.
check() {
  [ -d "$CLUSTER_DIR" ] || { echo "cluster $CLUSTER_NAME: not created"; return 3; }
  built_binaries || { echo "cluster $CLUSTER_NAME: its binaries are not built (tools/build.sh)"; return 3; }
  local problems=0 name pidfile pid restarts
  # The watchdog's record, read once: component -> ", N restarts" (nothing for none).
  local -A restarts_of=()
  while read -r name restarts; do
    [ "$restarts" = 0 ] || restarts_of[$name]=", $restarts restarts"
  done < <("$PYTHON" -c 'import json,sys
for name, c in json.load(open(sys.argv[1]))["components"].items(): print(name, c.get("restarts", 0))' \
    "$WATCHDOG_STATE" 2>/dev/null)
  for pidfile in "$CLUSTER_DIR"/pids/*.pid; do
    [ -e "$pidfile" ] || continue
    name="$(basename "$pidfile" .pid)"; pid="$(cat "$pidfile" 2>/dev/null || true)"
    if pid_alive "$pid"; then
      printf '%-26s running (pid %s)%s\n' "$name" "$pid" "${restarts_of[$name]:-}"
    else
      printf '%-26s NOT RUNNING%s\n' "$name" "${restarts_of[$name]:-}"; problems=1
    fi
  done
  if watchdog_alive; then echo "watchdog                   running (pid $(cat "$WATCHDOG_PID"))"
  else echo "watchdog                   NOT RUNNING (dead components are not restarted)"; problems=1; fi
  if grep -q '"crash_looping": true' "$WATCHDOG_STATE" 2>/dev/null; then
    echo "a component is crash-looping (see the restarts above)"; problems=1
  fi
  if kubectl_ get --raw /readyz --request-timeout=5s >/dev/null 2>&1; then echo "api                        ready"
  else echo "api                        NOT READY"; problems=1; fi
  local not_ready
  not_ready="$(kubectl_ get nodes --no-headers 2>/dev/null | awk '$2 != "Ready" {print $1}' | head -5)"
  if [ -z "$not_ready" ]; then echo "nodes                      all Ready"
  else echo "nodes                      NOT READY: $(echo $not_ready)"; problems=1; fi
  if metrics_api_answers; then echo "metrics.k8s.io             answering"
  else echo "metrics.k8s.io             NOT ANSWERING"; problems=1; fi
  if karpenter_ready; then echo "karpenter                  ready"
  else echo "karpenter                  NOT READY (logs: $CLUSTER_DIR/logs/karpenter.log)"; problems=1; fi
  # Live agents and Prometheus run only after `observe` (make up); once started, they must serve.
  if [ -f "$OBS_PID" ]; then
    if observability_alive && observability_ready >/dev/null 2>&1; then
      echo "agents + prometheus        running, every agent scraped (http://127.0.0.1:$PROMETHEUS_PORT)"
    else echo "agents + prometheus        NOT ALL SERVING (logs: $CLUSTER_DIR/logs/observability.log, $OBS_DIR/logs/)"; problems=1; fi
  fi
  return "$problems"
}

status() {
  if running; then
    echo "cluster $CLUSTER_NAME: running (KUBECONFIG=$KUBECONFIG_PATH)"
    check || true
    kubectl_ get nodes -L node.kubernetes.io/instance-type,nvidia.com/gpu.present,karpenter.sh/nodepool
  else
    echo "cluster $CLUSTER_NAME: not running"
    return 3
  fi
}

# Unregisters every aggregated API (metrics.k8s.io): the namespace controller finishes no deletion while one is
# unavailable, so a teardown with a dead metrics-server would hang. Only for a cluster about to go.
drop_aggregated_apis() {
  running || die "cluster $CLUSTER_NAME is not running"
  local api
  for api in $(kubectl_ get apiservices -o jsonpath='{range .items[?(@.spec.service)]}{.metadata.name}{"\n"}{end}'); do
    log "unregistering aggregated API $api (teardown: namespaces must not wait for it)"
    kubectl_ delete apiservice "$api" --wait=false >/dev/null
  done
}

# Every process whose command line names this cluster's folder (components kwokctl lost track of included).
leftover_pids() {
  local pid
  for pid in $(pgrep -f -- "$CLUSTER_DIR/" || true); do
    [ "$pid" != "$$" ] && [ "$pid" != "$BASHPID" ] && echo "$pid"
  done
}

down() {
  stop_observability
  stop_watchdog
  if [ -d "$CLUSTER_DIR" ]; then
    log "stopping cluster $CLUSTER_NAME"
    if built_binaries; then
      timeout 120 "$GNP_KWOKCTL" --name "$CLUSTER_NAME" delete cluster --kubeconfig "$KUBECONFIG_PATH" \
        >"$GNP_STATE/kwokctl-$CLUSTER_NAME.log" 2>&1 \
        || log "kwokctl delete cluster failed (see $GNP_STATE/kwokctl-$CLUSTER_NAME.log); stopping its processes directly"
    fi
  else
    log "cluster $CLUSTER_NAME is not running"
  fi
  # Whatever kwokctl did not stop (its pid files lost, or the delete failed) is stopped here.
  local pids; pids="$(leftover_pids)"
  if [ -n "$pids" ]; then
    log "stopping leftover processes: $(echo $pids)"
    kill $pids 2>/dev/null || true; sleep 2
    pids="$(leftover_pids)"; [ -z "$pids" ] || kill -9 $pids 2>/dev/null || true
  fi
  rm -rf "$CLUSTER_DIR" "$KUBECONFIG_PATH" "$KWOK_WORKDIR/kwokctl-$CLUSTER_NAME.yaml" "$KARPENTER_HEALTH_PORT_FILE"
  log "cluster $CLUSTER_NAME stopped; nothing of it runs"
}

# stop|start: kwokctl stops and restarts every component of the cluster; etcd's data and the nodes survive. The
# watchdog is stopped first, so it does not undo a deliberate stop.
pause_or_resume() {
  [ -d "$CLUSTER_DIR" ] || die "cluster $CLUSTER_NAME does not exist; run: $0 up"
  built_binaries || die "the control-plane binaries are not built; run: $0 up"
  [ "$1" = start ] || stop_watchdog
  kwokctl_ "$1" cluster >"$GNP_STATE/kwokctl-$CLUSTER_NAME.log" 2>&1 \
    || { tail -n 20 "$GNP_STATE/kwokctl-$CLUSTER_NAME.log" >&2; die "kwokctl $1 cluster failed"; }
  [ "$1" = stop ] || start_watchdog
  log "cluster $CLUSTER_NAME: $1 done"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  check) check ;;
  status) status ;;
  stop|start) pause_or_resume "$1" ;;
  drop-aggregated-apis) drop_aggregated_apis ;;
  observe) observe ;;
  observe-stop) stop_observability ;;
  *) echo "usage: $0 up|down|check|status|stop|start|drop-aggregated-apis|observe|observe-stop" >&2; exit 2 ;;
esac
