"""Token buckets and the token pool, on an injected clock: no test sleeps."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime

import pytest

from socmon.sources.rate_limit import (
    MOSCOW,
    MethodStopped,
    TokenBucket,
    TokenPool,
    next_moscow_midnight,
)

MONDAY_EVENING = datetime(2026, 11, 23, 23, 30, tzinfo=MOSCOW).timestamp()


class FakeClock:
    """A clock that moves only when told to; as `sleep`, it moves by the time slept."""

    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_a_bucket_refills_at_its_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=2, clock=clock)
    assert bucket.try_acquire() == 0.0
    assert bucket.try_acquire() == pytest.approx(0.5)
    clock.now += 0.25
    assert bucket.try_acquire() == pytest.approx(0.25)
    clock.now += 0.25
    assert bucket.try_acquire() == 0.0


def test_a_bucket_never_holds_more_than_its_burst() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=10, burst=3, clock=clock)
    clock.now += 3_600  # an idle hour
    assert [bucket.try_acquire() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.try_acquire() == pytest.approx(0.1)


def test_the_pool_goes_round_robin_and_waits_only_when_every_bucket_is_empty() -> None:
    clock = FakeClock()
    pool = TokenPool(["a", "b", "c"], requests_per_second=3, clock=clock, sleep=clock.sleep)
    assert [pool.acquire() for _ in range(3)] == ["a", "b", "c"]
    assert clock.slept == []
    assert pool.acquire() == "a"
    assert clock.slept == [pytest.approx(1 / 3)]


def test_the_pool_takes_the_next_token_with_room() -> None:
    clock = FakeClock()
    pool = TokenPool(["a", "b"], requests_per_second=1, clock=clock, sleep=clock.sleep)
    assert pool.acquire() == "a"
    clock.now += 1.0
    assert pool.acquire() == "b"
    assert pool.acquire() == "a"  # b's bucket is empty, a's has refilled
    assert clock.slept == []


def test_twenty_requests_per_second_for_a_community_token() -> None:
    clock = FakeClock()
    pool = TokenPool(["community"], requests_per_second=20, clock=clock, sleep=clock.sleep)
    start = clock.now
    for _ in range(201):
        pool.acquire()
    assert clock.now - start == pytest.approx(10.0)


def test_a_stopped_method_moves_to_other_tokens_until_midnight_in_moscow() -> None:
    wall_clock = FakeClock(MONDAY_EVENING)
    pool = TokenPool(["a", "b"], requests_per_second=100, wall_clock=wall_clock)
    until = pool.stop_until_next_day("a", "wall.get", "Rate limit reached")
    assert until == datetime(2026, 11, 24, 0, 0, tzinfo=MOSCOW).timestamp()
    assert {pool.acquire({"wall.get"}) for _ in range(4)} == {"b"}
    assert pool.available_tokens("wall.get") == ["b"]
    assert {pool.acquire({"groups.getById"}) for _ in range(4)} == {"a", "b"}

    pool.stop_until_next_day("b", "wall.get", "Rate limit reached")
    with pytest.raises(MethodStopped, match=r"wall\.get stopped until 2026-11-24T00:00:00\+03:00") as stopped:
        pool.acquire({"wall.get"})
    assert stopped.value.until == until

    wall_clock.now = until
    assert pool.acquire({"wall.get"}) in {"a", "b"}


def test_the_day_ends_at_21_00_utc() -> None:
    before = datetime(2026, 11, 23, 20, 59, tzinfo=UTC).timestamp()
    assert next_moscow_midnight(before) == datetime(2026, 11, 23, 21, 0, tzinfo=UTC).timestamp()
    at_midnight = datetime(2026, 11, 23, 21, 0, tzinfo=UTC).timestamp()
    assert next_moscow_midnight(at_midnight) == at_midnight + 86_400


def test_a_bucket_hands_out_exactly_its_burst_to_racing_threads() -> None:
    bucket = TokenBucket(rate=1, burst=50, clock=FakeClock())
    granted = Counter[str]()
    lock = threading.Lock()
    start = threading.Barrier(8)

    def race(name: str) -> None:
        start.wait()
        for _ in range(100):
            if bucket.try_acquire() == 0.0:
                with lock:
                    granted[name] += 1

    threads = [threading.Thread(target=race, args=(f"t{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(granted.values()) == 50


class _Empty(Exception):
    pass


def test_the_pool_shares_its_tokens_fairly_among_racing_threads() -> None:
    def no_waiting(seconds: float) -> None:
        raise _Empty

    pool = TokenPool(
        ["a", "b", "c", "d"], requests_per_second=1, burst=25, clock=FakeClock(), sleep=no_waiting
    )
    handed_out = Counter[str]()
    lock = threading.Lock()
    start = threading.Barrier(8)

    def race() -> None:
        start.wait()
        while True:
            try:
                token = pool.acquire()
            except _Empty:
                return
            with lock:
                handed_out[token] += 1

    threads = [threading.Thread(target=race) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert handed_out == {"a": 25, "b": 25, "c": 25, "d": 25}


def test_parallel_extraction_tasks_share_a_tokens_rate() -> None:
    from socmon.hooks import rate_per_task

    assert rate_per_task({"rps": 20}, 3, "vk_api") == 10  # the vk_api pool runs 2 tasks at once
    assert rate_per_task({"rps": 20, "parallel_tasks": 4}, 3, "vk_api") == 5
    assert rate_per_task({}, 5, "ok_api") == 2.5
