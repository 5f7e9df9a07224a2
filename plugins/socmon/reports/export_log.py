"""Every export is recorded in `ops.export_log`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from psycopg.types.json import Jsonb

from socmon.reports.model import Report
from socmon.warehouse import server


def record_export(report: Report, files: Sequence[Path], schema: str) -> None:
    """Append one row per export, as the officers' role the exports read as (ops_records)."""
    with server.connect("officer", autocommit=True) as conn:
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
