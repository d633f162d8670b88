"""The Pulumi ComponentResources: each hands data built by `config/`, `eks/` and `manifests/` to a provider.

Only this package imports pulumi_aws and pulumi_kubernetes; the command line never loads it.
"""
