"""Every gate run is recorded in `ops.gate_runs`."""

from __future__ import annotations

from psycopg.types.json import Jsonb

from socmon.quality.result import GateResult
from socmon.warehouse import server

CREATE_TABLE = """
create table if not exists ops.gate_runs (
    run_at       timestamptz not null default now(),
    schema_name  text        not null,
    success      boolean     not null,
    expectations integer     not null,
    tables       integer     not null,
    failures     jsonb       not null,
    period       text
)
"""
ADD_PERIOD = "alter table ops.gate_runs add column if not exists period text"  # tables made before it


def record_gate_run(result: GateResult, schema: str) -> None:
    """Append the outcome to ops.gate_runs (created on first use), as the owner."""
    with server.connect("admin", autocommit=True) as conn:
        conn.execute("create schema if not exists ops")
        conn.execute(CREATE_TABLE)
        conn.execute(ADD_PERIOD)
        conn.execute(
            "insert into ops.gate_runs (schema_name, success, expectations, tables, failures, period)"
            " values (%s, %s, %s, %s, %s, %s)",
            [
                schema,
                result.success,
                result.expectations,
                result.tables,
                Jsonb(result.failures),
                result.period,
            ],
        )
