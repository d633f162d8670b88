"""The component package's entry point: the engine runs this folder (PulumiPlugin.yaml) to serve the components."""

from gpu_node_pools.provider import serve

serve()
