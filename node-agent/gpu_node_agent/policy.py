"""When to write labels: the churn guard. Pure: state in, decision out, no clock of its own.

- a live key (bucket) takes a new value only after it has differed from the published one for `settle_seconds`;
- static facts and health take effect at once;
- nothing is written sooner than `min_interval_seconds` after the previous write;
- nothing is written when the labels equal what was last written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

__all__ = ["DEFAULT_MIN_INTERVAL_SECONDS", "DEFAULT_SETTLE_SECONDS", "PublishPolicy", "PublishState", "decide"]

DEFAULT_SETTLE_SECONDS = 30.0
DEFAULT_MIN_INTERVAL_SECONDS = 30.0


@dataclass(frozen=True)
class PublishPolicy:
    live_keys: frozenset[str]
    settle_seconds: float = DEFAULT_SETTLE_SECONDS
    min_interval_seconds: float = DEFAULT_MIN_INTERVAL_SECONDS


@dataclass(frozen=True)
class PublishState:
    """`published`: what the node carries (our keys only). `pending`: live key -> since when it has differed."""

    published: Mapping[str, str] = field(default_factory=dict)
    last_write: float | None = None
    pending: Mapping[str, float] = field(default_factory=dict)

    def written(self, labels: Mapping[str, str], now: float | None) -> PublishState:
        """The state after the node was found to carry `labels`, written at `now` (None: nothing was sent)."""
        return replace(self, published=dict(labels), last_write=now)


def decide(
    state: PublishState, desired: Mapping[str, str], now: float, policy: PublishPolicy
) -> tuple[PublishState, dict[str, str] | None]:
    """The next state, and the full label set to write now (None: write nothing this cycle)."""
    target = {k: v for k, v in desired.items() if k not in policy.live_keys}
    pending: dict[str, float] = {}
    for key in policy.live_keys:
        want, have = desired.get(key), state.published.get(key)
        if want == have or have is None:
            # Unchanged, or a first value: nothing to settle.
            if want is not None:
                target[key] = want
            continue
        # Settled once the key has differed from what is published for the whole settle time, whichever
        # new values it took meanwhile (noise between two new buckets is still a sustained change); the
        # latest value is the one written.
        since = state.pending.get(key, now)
        pending[key] = since
        chosen = want if now - since >= policy.settle_seconds else have
        if chosen is not None:
            target[key] = chosen
    next_state = replace(state, pending=pending)
    if target == dict(state.published):
        return next_state, None
    if state.last_write is not None and now - state.last_write < policy.min_interval_seconds:
        return next_state, None
    return next_state, target
