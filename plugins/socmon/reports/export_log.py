"""Every export is recorded in `ops.export_log`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from psycopg.types.json import Jsonb

from socmon.reports.model import Report
from socmon.warehouse import server

CREATE_TABLE = """
create table if not exists ops.export_log (
    exported_at timestamptz not null default now(),
    period      text        not null,
    period_key  text        not null,
    schema_name text        not null,
    files       jsonb       not null,
    row_count   integer     not null
)
"""


def record_export(report: Report, files: Sequence[Path], schema: str) -> None:
    """Append one row per export (created on first use), as the owner."""
    with server.connect("admin", autocommit=True) as conn:
        conn.execute("create schema if not exists ops")
        conn.execute(CREATE_TABLE)
        conn.execute(
            "insert into ops.export_log (period, period_key, schema_name, files, row_count)"
            " values (%s, %s, %s, %s, %s)",
            [
                report.period.kind,
                report.period.key,
                schema,
                Jsonb([str(f) for f in files]),
                len(report.incidents),
            ],
        )
