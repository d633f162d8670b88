"""Writing our labels to our own Node: a merge patch of `metadata.labels` only, our keys only.

Each sync reads the Node, diffs the keys we own against what we want, and patches just the difference with the
read `resourceVersion`, so a concurrent change answers 409 and is retried on fresh data. Labels we do not own
are never in the patch; nothing else of the Node is either.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from .kubeclient import KubeClient
from .retry import Backoff, retrying

__all__ = ["NodeLabeler", "label_patch", "ownership"]


def ownership(prefix: str, extra_keys: tuple[str, ...] = ()) -> Callable[[str], bool]:
    """The keys the agent owns: everything under `prefix`, plus exactly `extra_keys` (GFD mode)."""
    extra = frozenset(extra_keys)
    return lambda key: key.startswith(prefix) or key in extra


def label_patch(
    current: Mapping[str, str], desired: Mapping[str, str], owns: Callable[[str], bool]
) -> dict[str, str | None]:
    """The merge-patch `labels` map: set changed owned keys, null removed owned keys, nothing else."""
    strays = sorted(key for key in desired if not owns(key))
    if strays:
        raise ValueError(f"refusing to write labels outside the agent's ownership: {strays}")
    patch: dict[str, str | None] = {k: v for k, v in desired.items() if current.get(k) != v}
    patch.update({k: None for k in current if owns(k) and k not in desired})
    return patch


class NodeLabeler:
    def __init__(
        self, client: KubeClient, node: str, owns: Callable[[str], bool], backoff: Backoff = Backoff()
    ) -> None:
        self._client = client
        self._node = node
        self._owns = owns
        self._backoff = backoff

    def sync(self, desired: Mapping[str, str]) -> bool:
        """Makes the node's owned labels equal `desired`; True when a patch was sent, False when none was needed."""
        return retrying(lambda: self._sync_once(desired), f"label sync of node {self._node}", self._backoff)

    def _sync_once(self, desired: Mapping[str, str]) -> bool:
        metadata = self._client.get_node(self._node).get("metadata")
        if metadata is None:
            raise RuntimeError(f"the API server returned node {self._node} without metadata")
        patch = label_patch(metadata.get("labels") or {}, desired, self._owns)
        if not patch:
            return False
        body = {"metadata": {"resourceVersion": metadata.get("resourceVersion"), "labels": patch}}
        self._client.patch_node(self._node, body)
        return True
