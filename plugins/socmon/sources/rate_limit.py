"""Client-side rate limits of API tokens: a token bucket per token, and a pool that spreads calls over tokens.

VK counts requests per second per access token (3 for a user token, 20 for a community token) and, for
some methods, calls per day (error 29, reset at midnight Moscow time). A `TokenPool` hands out the next
token whose bucket has room and whose methods are not stopped, waiting when every bucket is empty.
Clocks and sleep are injectable, so that tests need no real waiting.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from socmon.constants import MOSCOW

Clock = Callable[[], float]

USER_TOKEN_REQUESTS_PER_SECOND = 3.0
COMMUNITY_TOKEN_REQUESTS_PER_SECOND = 20.0
_ROUNDING = 1e-9  # a bucket refilled for exactly the wait it announced may fall short by a float's rounding
ANY_METHOD = "*"  # stopping this stops every method of the token (e.g. its authorisation failed)


def next_moscow_midnight(unix_time: float) -> float:
    """The unix time of the next midnight in Moscow after `unix_time`."""
    moment = datetime.fromtimestamp(unix_time, MOSCOW)
    midnight = datetime.combine(moment.date() + timedelta(days=1), datetime.min.time(), MOSCOW)
    return midnight.timestamp()


class TokenBucket:
    """At most `rate` requests per second on average and `burst` at once; thread-safe.

    The bucket holds up to `burst` tokens and gains `rate` tokens per second; each request takes one.
    A burst of 1 spaces requests evenly, which is what a per-second limit on the server side tolerates.
    """

    def __init__(self, rate: float, burst: float = 1.0, clock: Clock = time.monotonic) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = burst
        self._updated = clock()
        self._lock = threading.Lock()

    def try_acquire(self) -> float:
        """Take room for one request: 0.0 when taken, else the seconds until there is room (nothing taken)."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            if self._tokens >= 1 - _ROUNDING:
                self._tokens = max(0.0, self._tokens - 1)
                return 0.0
            return (1 - self._tokens) / self.rate


class MethodStopped(RuntimeError):
    """Every token of the pool is stopped for this method (VK error 29: its daily limit is reached)."""

    def __init__(self, method: str, until: float, reason: str) -> None:
        reopens = datetime.fromtimestamp(until, MOSCOW).isoformat() if math.isfinite(until) else "never"
        super().__init__(f"{method} stopped until {reopens}: {reason}")
        self.method = method
        self.until = until
        self.reason = reason


@dataclass(frozen=True)
class QuotaStop:
    """A token taken off a method (or `ANY_METHOD`) until a unix time, and why."""

    token: str
    method: str
    until: float
    reason: str


class TokenPool:
    """Several tokens, each with its own bucket, handed out round-robin; thread-safe.

    `acquire(methods)` returns the next token that has room in its bucket and is not stopped for any of
    `methods`, sleeping until a bucket has room when none has. `stop(token, method, until, reason)`
    takes a token off a method (or off every method, with `ANY_METHOD`) until a unix time.
    """

    def __init__(
        self,
        tokens: Sequence[str],
        requests_per_second: float = USER_TOKEN_REQUESTS_PER_SECOND,
        *,
        burst: float = 1.0,
        clock: Clock = time.monotonic,
        wall_clock: Clock = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        unique = list(dict.fromkeys(t for t in tokens if t))
        if not unique:
            raise ValueError("a token pool needs at least one token")
        self.tokens = unique
        self._buckets = {token: TokenBucket(requests_per_second, burst, clock) for token in unique}
        self._stops: dict[tuple[str, str], tuple[float, str]] = {}
        self._next = 0
        self._wall_clock = wall_clock
        self._sleep = sleep
        self._lock = threading.Lock()

    def acquire(self, methods: Collection[str] = ()) -> str:
        """A token for one request calling `methods`; raises `MethodStopped` when no token may call one."""
        while True:
            wait = self._try_acquire(methods)
            if isinstance(wait, str):
                return wait
            self._sleep(wait)

    def stop(self, token: str, method: str, until: float, reason: str) -> None:
        """Take `token` off `method` (or `ANY_METHOD`) until the unix time `until`."""
        with self._lock:
            self._stops[(token, method)] = (until, reason)

    def stop_until_next_day(self, token: str, method: str, reason: str) -> float:
        """Take `token` off `method` until the next midnight in Moscow, when VK resets daily limits."""
        until = next_moscow_midnight(self._wall_clock())
        self.stop(token, method, until, reason)
        return until

    def stops_in_force(self) -> list[QuotaStop]:
        """The stops that lift at a known time (daily limits) and have not yet: to keep for later runs."""
        with self._lock:
            now = self._wall_clock()
            return [
                QuotaStop(token, method, until, reason)
                for (token, method), (until, reason) in self._stops.items()
                if now < until < math.inf
            ]

    def available_tokens(self, method: str) -> list[str]:
        """The tokens not stopped for `method` now."""
        with self._lock:
            now = self._wall_clock()
            return [t for t in self.tokens if self._stopped(t, (method,), now) is None]

    def _try_acquire(self, methods: Collection[str]) -> str | float:
        with self._lock:
            now = self._wall_clock()
            order = self.tokens[self._next :] + self.tokens[: self._next]
            eligible = [t for t in order if self._stopped(t, methods, now) is None]
            if not eligible:
                self._raise_stopped(methods, now)
            waits = []
            for token in eligible:
                wait = self._buckets[token].try_acquire()
                if wait == 0.0:
                    self._next = (self.tokens.index(token) + 1) % len(self.tokens)
                    return token
                waits.append(wait)
            return min(waits)

    def _stopped(self, token: str, methods: Collection[str], now: float) -> tuple[float, str] | None:
        """The (until, reason) of a stop that keeps `token` from one of `methods`, if any."""
        for method in (ANY_METHOD, *methods):
            stop = self._stops.get((token, method))
            if stop is not None and stop[0] > now:
                return stop
        return None

    def _raise_stopped(self, methods: Collection[str], now: float) -> None:
        for method in (*methods, ANY_METHOD):
            stops = [self._stopped(t, (method,), now) for t in self.tokens]
            if all(stops):
                until, reason = min(s for s in stops if s is not None)
                raise MethodStopped(method, until, reason)
        until, reason = min(s for t in self.tokens if (s := self._stopped(t, methods, now)) is not None)
        raise MethodStopped(",".join(methods), until, reason)
