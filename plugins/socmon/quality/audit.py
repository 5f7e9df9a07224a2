"""Every gate run is recorded in `ops.gate_runs`."""

from __future__ import annotations

from psycopg.types.json import Jsonb

from socmon.quality.result import GateResult
from socmon.warehouse import server


def record_gate_run(result: GateResult, schema: str) -> None:
    """Append the outcome to ops.gate_runs, as the officers' role the gate reads as (ops_records)."""
    with server.connect("officer", autocommit=True) as conn:
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
