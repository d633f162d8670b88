"""Kubernetes objects as plain data, built by pure functions.

Each add-on module builds one add-on's objects from its config model and the isolation contract; `in_cluster`
gathers a stack's whole in-cluster layer in apply order; `simulated_nodes` builds the kwok Nodes that mirror
its pools. The Pulumi components hand these dicts to pulumi-kubernetes unchanged; `gpu-node-pools render`
prints them; the tests validate them against the Kubernetes OpenAPI schema and apply them to a real API server.
"""
