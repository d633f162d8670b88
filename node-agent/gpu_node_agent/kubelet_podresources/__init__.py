"""Generated stubs of the kubelet's pod-resources API v1 (k8s.io/kubelet v0.34.4); see regenerate.sh.

Imported only when `--pod-resources` is on: grpc and protobuf stay out of the default agent's memory."""
