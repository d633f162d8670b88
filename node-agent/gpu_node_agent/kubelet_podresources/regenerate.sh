#!/usr/bin/env bash
# Regenerates the Python stubs of the kubelet's pod-resources API (v1) from the kubelet's own api.proto.
# The proto comes from the Go module k8s.io/kubelet at the version matching our Kubernetes (1.34), read from the
# module cache (`go mod download` fetches it). grpcio-tools is needed only here, in a throwaway venv:
#   python3 -m venv /tmp/gen && /tmp/gen/bin/pip install grpcio-tools==1.70.0
#   GEN_PYTHON=/tmp/gen/bin/python node-agent/gpu_node_agent/kubelet_podresources/regenerate.sh
# Bump the `grpcio`/`protobuf` lower bounds in node-agent/pyproject.toml to what the new stubs check for.
set -euo pipefail
KUBELET_VERSION=v0.34.4
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"  # node-agent/
python="${GEN_PYTHON:-python3}"
mod="$(go mod download -json "k8s.io/kubelet@$KUBELET_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')"
cp "$mod/pkg/apis/podresources/v1/api.proto" "$here/api.proto"
chmod u+w "$here/api.proto"
# protoc writes package-qualified imports when the proto sits at its package path under -I.
"$python" -m grpc_tools.protoc -I "$root" --python_out="$root" --grpc_python_out="$root" \
  gpu_node_agent/kubelet_podresources/api.proto
