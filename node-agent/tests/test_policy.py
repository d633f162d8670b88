from __future__ import annotations

import pytest

from gpu_node_agent.policy import PublishPolicy, PublishState, decide

LIVE = "p/gpu.utilization"
POLICY = PublishPolicy(live_keys=frozenset({LIVE}), settle_seconds=30, min_interval_seconds=30)


def run(samples: list[tuple[float, dict[str, str]]], state: PublishState = PublishState()) -> list[tuple[float, dict]]:
    """Feeds (time, desired) samples; returns the writes as (time, labels)."""
    writes = []
    for now, desired in samples:
        state, target = decide(state, desired, now, POLICY)
        if target is not None:
            writes.append((now, target))
            state = state.written(target, now)
    return writes


def test_first_cycle_writes_everything_at_once() -> None:
    assert run([(0, {LIVE: "0-10", "p/gpu.count": "8"})]) == [(0, {LIVE: "0-10", "p/gpu.count": "8"})]


def test_nothing_is_written_when_nothing_changes() -> None:
    steady = {LIVE: "50-80", "p/gpu.count": "8"}
    state = PublishState(published=steady, last_write=-1000)
    assert run([(t, steady) for t in range(0, 3600, 15)], state) == []


def test_a_live_change_is_written_once_it_has_held_for_the_settle_time() -> None:
    state = PublishState(published={LIVE: "0-10"}, last_write=-1000)
    writes = run([(t, {LIVE: "80-100"}) for t in range(0, 60, 15)], state)
    assert writes == [(30, {LIVE: "80-100"})]


def test_a_blip_shorter_than_the_settle_time_is_never_written() -> None:
    state = PublishState(published={LIVE: "0-10"}, last_write=-1000)
    samples = [(0, {LIVE: "80-100"}), (15, {LIVE: "80-100"}), (30, {LIVE: "0-10"}), (45, {LIVE: "80-100"})]
    assert run(samples, state) == []


def test_noise_between_new_buckets_is_still_a_sustained_change_and_the_latest_value_wins() -> None:
    state = PublishState(published={LIVE: "80-100"}, last_write=-1000)
    samples = [(0, {LIVE: "10-50"}), (15, {LIVE: "50-80"}), (30, {LIVE: "10-50"})]
    assert run(samples, state) == [(30, {LIVE: "10-50"})]


def test_a_return_to_the_published_value_restarts_the_settle_clock() -> None:
    state = PublishState(published={LIVE: "0-10"}, last_write=-1000)
    samples = [
        (0, {LIVE: "80-100"}),
        (15, {LIVE: "0-10"}),
        (30, {LIVE: "80-100"}),
        (45, {LIVE: "80-100"}),
        (60, {LIVE: "80-100"}),
    ]
    assert run(samples, state) == [(60, {LIVE: "80-100"})]


@pytest.mark.parametrize("key", ["p/gpu.health", "p/gpu.count"])
def test_static_and_health_changes_wait_only_for_the_min_interval(key: str) -> None:
    state = PublishState(published={key: "a"}, last_write=0)
    assert run([(10, {key: "b"}), (20, {key: "b"}), (30, {key: "b"})], state) == [(30, {key: "b"})]


def test_removed_static_key_is_written_as_a_removal() -> None:
    state = PublishState(published={"p/gpu.count": "8", "p/gpu.family": "hopper"}, last_write=-1000)
    assert run([(0, {"p/gpu.count": "8"})], state) == [(0, {"p/gpu.count": "8"})]


def test_a_write_that_found_nothing_to_change_does_not_start_the_min_interval() -> None:
    state = PublishState().written({"p/gpu.count": "8"}, None)
    assert state.last_write is None and state.published == {"p/gpu.count": "8"}


def test_live_only_writes_are_capped_per_hour_and_the_rest_waits() -> None:
    policy = PublishPolicy(live_keys=frozenset({LIVE}), settle_seconds=0, min_interval_seconds=0, max_writes_per_hour=2)
    state = PublishState(published={LIVE: "0-10", "p/gpu.health": "ok"}, last_write=-1000)
    writes = []
    for n, now in enumerate(range(0, 3 * 3600, 600)):
        desired = {LIVE: ("0-10", "80-100")[n % 2], "p/gpu.health": "ok"}
        state, target = decide(state, desired, now, policy)
        if target is not None:
            writes.append(now)
            state = state.written(target, now, policy.live_keys)
    assert writes == [600, 1200, 4200, 4800, 7800, 8400]  # two per rolling hour, then wait for the oldest to age


def test_the_cap_never_holds_back_health_or_static_facts() -> None:
    policy = PublishPolicy(live_keys=frozenset({LIVE}), settle_seconds=0, min_interval_seconds=0, max_writes_per_hour=1)
    state = PublishState(published={LIVE: "0-10", "p/gpu.health": "ok"}, last_write=-1000)
    state, target = decide(state, {LIVE: "80-100", "p/gpu.health": "ok"}, 0, policy)
    assert target is not None
    state = state.written(target, 0, policy.live_keys)
    state, target = decide(state, {LIVE: "0-10", "p/gpu.health": "degraded"}, 60, policy)
    assert target == {LIVE: "0-10", "p/gpu.health": "degraded"}


def test_a_new_node_s_first_labels_do_not_count_against_the_cap() -> None:
    state = PublishState().written({LIVE: "0-10", "p/gpu.count": "8"}, 0, frozenset({LIVE}))
    assert state.recent == ()


def test_a_change_the_window_saw_sustained_counts_its_settle_time_from_when_it_began() -> None:
    state = PublishState(published={LIVE: "0-10"}, last_write=-1000)
    state, target = decide(state, {LIVE: "80-100"}, 150, POLICY, began={LIVE: 0})
    assert target == {LIVE: "80-100"}
