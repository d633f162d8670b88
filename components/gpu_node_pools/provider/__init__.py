"""gpu-node-pools as a Pulumi component package, for programs in any Pulumi language.

`package/PulumiPlugin.yaml` and `package/__main__.py` make the repository a package that `pulumi package add` takes
(a path or a git URL). It serves the very classes Python programs import from `gpu_node_pools`; the schema is
inferred from their TypedDict args (`pulumi_components/args.py`; docs/architecture.md).
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

    from ..pulumi_components import COMPONENTS

    component_provider_host(COMPONENTS, name=PACKAGE_NAME, version=package_version())
