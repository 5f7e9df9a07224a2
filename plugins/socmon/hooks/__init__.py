"""Airflow hooks: credentials from connections, nothing else."""

from __future__ import annotations

from typing import Any


def api_url_from_connection(conn: Any, default: str) -> str:
    """The connection's host (with scheme and port) when set, e.g. the sandbox; else the real API."""
    if not conn.host:
        return default
    url = conn.host if "://" in conn.host else f"{conn.schema or 'http'}://{conn.host}"
    return f"{url}:{conn.port}" if conn.port else url


def rate_per_task(extra: dict[str, Any], default_rps: float, pool: str) -> float:
    """Each extraction task's share of a token's (or an application's) rate: `rps` divided by
    `parallel_tasks`, which defaults to the slots of the platform's Airflow pool. The pool lets that many
    mapped tasks run at once, each in its own process with its own buckets: with the whole rate each,
    together they would exceed it."""
    from socmon.orchestration import POOLS

    parallel_tasks = int(extra.get("parallel_tasks", POOLS[pool][0]))
    return float(extra.get("rps", default_rps)) / max(1, parallel_tasks)
