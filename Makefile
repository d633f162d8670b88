# One entry point. Every target does its own set-up (venv, packages, Go-built binaries) from nothing.
SHELL := /bin/bash
.DEFAULT_GOAL := help

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

setup: ## create .venv and install both packages with test extras
	@scripts/setup.sh

check: ## every test that needs no Go toolchain, cluster, engine, image or network, the layers contract too (~1 min)
	@scripts/check.sh

gpu-check: setup ## on a machine with an NVIDIA GPU: the agent's readout against nvidia-smi, and a cycle's cost (gpu-check.json)
	@.venv/bin/gpu-node-agent selftest --out $${OUT:-gpu-check.json}

test: ## run every test (unit, schema, control plane, pulumi up/preview/destroy)
	@scripts/test.sh

tools: ## build (or reuse from the cache) the whole Go-built toolchain, with one progress line per step
	@tools/build.sh

tools-controlplane: ## build (or reuse from the cache) kube-apiserver, kubectl, etcd, kwok, metrics-server, karpenter, ...
	@tools/build.sh kube etcd kwok metrics_server karpenter

cluster-up: ## start the local cluster with the local stack's simulated nodes (.state/kubeconfig)
	@scripts/cluster.sh up

cluster-down: ## stop the local cluster; leaves nothing running
	@scripts/cluster.sh down

cluster-check: ## every local cluster component running, API ready, nodes Ready, metrics API answering
	@scripts/cluster.sh check

.PHONY: help setup check test
.PHONY: tools tools-controlplane cluster-up cluster-down cluster-check

generate: ## rewrite what derives from the config models: docs/config-reference.md, the package's TypedDicts and schema, docs/deployer-policy.json
	@scripts/generate.sh

operator-crds: ## re-vendor prometheus-operator's CRDs (tests/data/crds) at the version tools/prometheus/sets.sh pins
	@scripts/vendor-operator-crds.sh

.PHONY: generate operator-crds

tools-pulumi: ## build (or reuse from the cache) the Pulumi CLI, Python language host and Kubernetes provider
	@tools/build.sh pulumi pulumi_kubernetes

up: ## the main job: set-up, toolchains, local cluster, `pulumi up --stack local`, then the GPU readout
	@scripts/up.sh

down: ## destroy the local stack and stop the local cluster
	@scripts/down.sh

.PHONY: tools-pulumi up down

image: setup ## the node agent's image from Debian packages and the lock files, no Docker (build/image: OCI, SBOMs)
	@tools/image/build.sh

image-push: ## push build/image to STACK's nodeAgent.pushRepository and print its `image` line (STACK=dev)
	@scripts/image-push.sh "$(STACK)"

image-lock: ## re-resolve node-agent/image/*.lock (the image's Python packages, hash-pinned) with uv
	@tools/image/lock.sh

.PHONY: image image-push image-lock
