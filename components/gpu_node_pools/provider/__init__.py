"""gpu-node-pools as a Pulumi component package, for programs in any Pulumi language.

`PulumiPlugin.yaml` and `__main__.py` at the repository root make it a package that `pulumi package add` takes
(a path or a git URL); the schema is inferred from the TypedDicts of `components.py` (see docs/architecture.md).
Python programs keep importing the components from `gpu_node_pools` directly.
"""

from __future__ import annotations

import importlib.metadata

__all__ = ["PACKAGE_NAME", "package_version", "serve"]

PACKAGE_NAME = "gpu-node-pools"


def package_version() -> str:
    """The package's version is the Python distribution's, so the two are released together."""
    return importlib.metadata.version(PACKAGE_NAME)


def serve() -> None:
    """Runs the component provider (the engine starts it through the Python language host)."""
    from pulumi.provider.experimental import component_provider_host

    from .components import COMPONENTS

    component_provider_host(COMPONENTS, name=PACKAGE_NAME, version=package_version())
