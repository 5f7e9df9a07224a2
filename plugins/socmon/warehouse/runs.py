"""ops.transform_runs: the record of every dbt command that wrote the warehouse (socmon.transform writes
it, the freshness check and marts.mart_pipeline_latency read it). Here, apart from socmon.transform, so
that the database's set-up (roles.py) can create it without importing the transform."""

from __future__ import annotations

import psycopg

CREATE_RUNS_TABLE = """
create table if not exists ops.transform_runs (
    run_id         bigint generated always as identity primary key,
    command        text        not null,
    selector       text,
    full_refresh   boolean     not null,
    started_at     timestamptz not null,
    finished_at    timestamptz,
    success        boolean,
    data_cutoff_at timestamptz,
    as_of_at       timestamptz,
    invoked_by     text        not null,
    error          text
)
"""


def ensure_runs_table(conn: psycopg.Connection) -> None:
    conn.execute("create schema if not exists ops")
    conn.execute(CREATE_RUNS_TABLE)
    conn.execute("alter table ops.transform_runs add column if not exists as_of_at timestamptz")
