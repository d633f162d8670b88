"""The Pulumi ComponentResources: each hands data built by `config/`, `aws/` and `manifests/` to a provider.

Only this package imports pulumi_aws and pulumi_kubernetes; the command line never loads it.
"""
