"""Per-source, per-method cursors in `raw.source_cursors`, and the threads each source re-reads.

A cursor is saved in the same transaction as the rows it covers, so it never runs ahead of the data.
"""

from __future__ import annotations

import json
from typing import Any

import psycopg


def read_cursors(conn: psycopg.Connection, source_id: str) -> dict[str, dict[str, Any]]:
    rows = conn.execute(
        "select method, cursor from raw.source_cursors where source_id = %s", [source_id]
    ).fetchall()
    return {method: cursor for method, cursor in rows}


def save_cursor(conn: psycopg.Connection, source_id: str, method: str, cursor: dict[str, Any]) -> None:
    conn.execute(
        """
        insert into raw.source_cursors (source_id, method, cursor, last_success_at, updated_at)
        values (%s, %s, %s, now(), now())
        on conflict (source_id, method) do update
            set cursor = excluded.cursor, last_success_at = now(), updated_at = now()
        """,
        [source_id, method, json.dumps(cursor)],
    )


def record_error(conn: psycopg.Connection, source_id: str, method: str, error: str) -> None:
    conn.execute(
        """
        insert into raw.source_cursors (source_id, method, last_error, last_error_at, updated_at)
        values (%s, %s, %s, now(), now())
        on conflict (source_id, method) do update
            set last_error = excluded.last_error, last_error_at = now(), updated_at = now()
        """,
        [source_id, method, error[:2000]],
    )


def read_open_threads(conn: psycopg.Connection, source_id: str) -> list[str]:
    """Ids of the source's threads with an incident still waiting for its final answer, from the view
    `casework.open_incident_threads`; none before dbt has built it."""
    try:
        with conn.transaction():
            rows = conn.execute(
                "select thread_id from casework.open_incident_threads"
                " where source_id = %s order by thread_id",
                [source_id],
            ).fetchall()
    except (psycopg.errors.UndefinedTable, psycopg.errors.InvalidSchemaName):
        return []
    return [thread_id for (thread_id,) in rows]
