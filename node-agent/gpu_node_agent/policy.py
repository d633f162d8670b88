"""When to write labels: the churn guard. Pure: state in, decision out, no clock of its own.

- a live key (bucket) takes a new value only after it has differed from the published one for `settle_seconds`;
- static facts and health take effect at once;
- nothing is written sooner than `min_interval_seconds` after the previous write;
- a write that changes live keys only waits while `max_writes_per_hour` writes were sent in the last hour (the
  backstop for workloads whose period is longer than the window: their buckets may still cross, the node is not
  rewritten more than this per hour for them);
- nothing is written when the labels equal what was last written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

__all__ = [
    "DEFAULT_MAX_WRITES_PER_HOUR",
    "DEFAULT_MIN_INTERVAL_SECONDS",
    "DEFAULT_SETTLE_SECONDS",
    "PublishPolicy",
    "PublishState",
    "decide",
    "live_only",
]

DEFAULT_SETTLE_SECONDS = 60.0
DEFAULT_MIN_INTERVAL_SECONDS = 30.0
DEFAULT_MAX_WRITES_PER_HOUR = 4
HOUR = 3600.0


@dataclass(frozen=True)
class PublishPolicy:
    live_keys: frozenset[str]
    settle_seconds: float = DEFAULT_SETTLE_SECONDS
    min_interval_seconds: float = DEFAULT_MIN_INTERVAL_SECONDS
    max_writes_per_hour: int = DEFAULT_MAX_WRITES_PER_HOUR


@dataclass(frozen=True)
class PublishState:
    """`published`: what the node carries (our keys only). `pending`: live key -> since when it has differed.
    `recent`: times of the live-only writes (see `live_only`) in the last hour, which the cap counts."""

    published: Mapping[str, str] = field(default_factory=dict)
    last_write: float | None = None
    pending: Mapping[str, float] = field(default_factory=dict)
    recent: tuple[float, ...] = ()

    def written(
        self, labels: Mapping[str, str], now: float | None, live_keys: frozenset[str] = frozenset()
    ) -> PublishState:
        """The state after the node was found to carry `labels`, written at `now` (None: nothing was sent).
        A write that changed only `live_keys` counts against the hourly cap."""
        counted = now is not None and now != self.last_write and live_only(self.published, labels, live_keys)
        recent = (*self.recent, now) if counted and now is not None else self.recent
        return replace(self, published=dict(labels), last_write=now, recent=recent)


def live_only(published: Mapping[str, str], target: Mapping[str, str], live_keys: frozenset[str]) -> bool:
    """Whether going from `published` to `target` changes live keys only (static facts and health as they were).
    A node's first labels are not live-only."""
    if not published:
        return False
    keys = (set(published) | set(target)) - live_keys
    return all(published.get(k) == target.get(k) for k in keys)


def decide(
    state: PublishState,
    desired: Mapping[str, str],
    now: float,
    policy: PublishPolicy,
    began: Mapping[str, float] | None = None,
) -> tuple[PublishState, dict[str, str] | None]:
    """The next state, and the full label set to write now (None: write nothing this cycle). `began`: live keys
    whose new level is known to have held since then (the window saw it sustained), so their settle time runs
    from there."""
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
        since = min(state.pending.get(key, now), (began or {}).get(key, now))
        pending[key] = since
        chosen = want if now - since >= policy.settle_seconds else have
        if chosen is not None:
            target[key] = chosen
    recent = tuple(t for t in state.recent if now - t < HOUR)
    next_state = replace(state, pending=pending, recent=recent)
    if target == dict(state.published):
        return next_state, None
    if state.last_write is not None and now - state.last_write < policy.min_interval_seconds:
        return next_state, None
    if live_only(state.published, target, policy.live_keys) and len(recent) >= policy.max_writes_per_hour:
        return next_state, None
    return next_state, target
