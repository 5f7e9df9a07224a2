"""Daily limits met per token and method (VK error 29), kept in `raw.quota_stops`.

A token that VK stopped for a method is not asked again until the limit resets (midnight in Moscow), in
this run or any later one, in any task. Tokens are stored as fingerprints, never in clear.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import psycopg

from socmon.sources.rate_limit import QuotaStop, TokenPool


def token_fingerprint(token: str) -> str:
    """The first 16 hex digits of the token's SHA-256: enough to tell tokens apart, useless to call with."""
    return hashlib.sha256(token.encode()).hexdigest()[:16]


def restore_quota_stops(conn: psycopg.Connection, platform: str, pool: TokenPool) -> list[QuotaStop]:
    """Stop the pool's tokens for what earlier runs met and is still in force; returns those stops."""
    by_fingerprint = {token_fingerprint(token): token for token in pool.tokens}
    rows = conn.execute(
        """
        select token_fingerprint, method, stopped_until, reason from raw.quota_stops
        where platform = %s and stopped_until > now()
        """,
        [platform],
    ).fetchall()
    restored = []
    for fingerprint, method, until, reason in rows:
        if fingerprint in by_fingerprint:
            stop = QuotaStop(by_fingerprint[fingerprint], method, until.timestamp(), reason)
            pool.stop(stop.token, stop.method, stop.until, stop.reason)
            restored.append(stop)
    return restored


def save_quota_stops(conn: psycopg.Connection, platform: str, pool: TokenPool) -> None:
    """Keep the pool's stops in force for later runs (a later stop of the same token and method wins)."""
    for stop in pool.stops_in_force():
        conn.execute(
            """
            insert into raw.quota_stops (platform, token_fingerprint, method, stopped_until, reason)
            values (%s, %s, %s, %s, %s)
            on conflict (platform, token_fingerprint, method) do update
                set stopped_until = greatest(raw.quota_stops.stopped_until, excluded.stopped_until),
                    reason = excluded.reason,
                    recorded_at = now()
            """,
            [platform, token_fingerprint(stop.token), stop.method, _utc(stop.until), stop.reason[:2000]],
        )


def quota_stops_in_force(conn: psycopg.Connection) -> list[tuple[str, str, str, datetime, str]]:
    """(platform, token fingerprint, method, stopped until, reason) of every stop not yet lifted."""
    return conn.execute(
        """
        select platform, token_fingerprint, method, stopped_until, reason from raw.quota_stops
        where stopped_until > now() order by platform, token_fingerprint, method
        """
    ).fetchall()


def _utc(unix_time: float) -> datetime:
    return datetime.fromtimestamp(unix_time, UTC)
