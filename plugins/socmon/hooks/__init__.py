"""Airflow hooks: credentials from connections, nothing else."""

from __future__ import annotations

import logging
from typing import Any

from socmon.constants import POOLS

log = logging.getLogger(__name__)


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
    parallel_tasks = int(extra.get("parallel_tasks") or pool_slots(pool))
    return float(extra.get("rps", default_rps)) / max(1, parallel_tasks)


def pool_slots(pool: str) -> int:
    """The slots of an Airflow pool now (an operator may have resized it in the UI), or the slots socmon
    creates it with (`socmon.constants.POOLS`) where Airflow's database cannot be read: outside Airflow,
    or inside a task process, where Airflow 3 forbids the ORM."""
    default = POOLS[pool][0]
    try:
        from airflow.models import Pool

        found = Pool.get_pool(pool)
    except Exception as exc:  # no Airflow, no metadata database, or the task process's blocked ORM
        log.debug("pool %s unreadable (%s): %d slots assumed", pool, exc, default)
        return default
    if found is None or found.slots is None or found.slots < 1:  # -1: unlimited
        return default
    return int(found.slots)
