"""`socmon export`: the XLSX, CSV and HTML reports of a day or an ISO week, under out/<period key>/."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

from socmon.config import settings
from socmon.period import MOSCOW, report_period
from socmon.quality.gate import GateFailed, run_gate
from socmon.reports.candidates import fetch_candidate_communities
from socmon.reports.csv_file import write_incidents_csv
from socmon.reports.export_log import record_export
from socmon.reports.html import write_html_report
from socmon.reports.model import Report
from socmon.reports.queries import fetch_account_compliance, fetch_incidents
from socmon.reports.weekly_changes import fetch_compliance_changes
from socmon.reports.xlsx import write_workbook

__all__ = ["GateFailed", "export_if_gate_passes", "export_period"]

log = logging.getLogger(__name__)

FileWriter = Callable[[Report, Path], None]

# (file name with {key} for the period key, writer), in the order the paths are returned
EXPORT_FILES: tuple[tuple[str, FileWriter], ...] = (
    ("socmon_incidents_{key}.xlsx", write_workbook),
    ("socmon_incidents_{key}.csv", write_incidents_csv),
    ("socmon_report_{key}.html", write_html_report),
)


def export_period(
    period: str,
    day: date,
    schema: str = "marts",
    out_dir: Path | None = None,
    reference_schema: str = "staging",
) -> list[Path]:
    """Write the reports of the day (or of the ISO week containing it) and return their paths.

    Files are built in a temporary folder beside the target and renamed into place, so a failure
    leaves neither partial files nor the temporary folder. Each export is logged in ops.export_log.
    """
    covered = report_period(period, day)
    if period == "month":  # the rating, the municipalities and the trend (monthly.py)
        from socmon.reports.monthly import export_month

        return export_month(day, (out_dir or settings().out_dir) / covered.key, schema=schema)
    incidents = fetch_incidents(covered, schema=schema, reference_schema=reference_schema)
    accounts = fetch_account_compliance(covered, schema=schema, reference_schema=reference_schema)
    report = Report(
        period=covered,
        incidents=tuple(incidents),
        generated_at=datetime.now(MOSCOW),
        accounts=accounts,
        changes=fetch_compliance_changes(covered, schema=schema),
        candidates=fetch_candidate_communities(covered, schema=schema),
    )
    target = (out_dir or settings().out_dir) / covered.key
    paths = _write_atomically(report, target)
    record_export(report, paths, schema)
    log.info("exported %d incidents of %s to %s", len(incidents), covered.key, target)
    return paths


def export_if_gate_passes(
    period: str,
    day: date,
    schema: str = "marts",
    out_dir: Path | None = None,
    reference_schema: str = "staging",
) -> list[Path]:
    """Run the gate on `schema` for the period first; raise GateFailed, writing nothing, when it fails.

    The gate refuses marts not built after the period's end (plus the extraction lag), and checks the
    period's rows as well as the whole tables.
    """
    gate = run_gate(schema, period=report_period(period, day))
    if not gate.success:
        raise GateFailed(gate)
    return export_period(period, day, schema=schema, out_dir=out_dir, reference_schema=reference_schema)


def _write_atomically(report: Report, target: Path) -> list[Path]:
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        names = []
        for template, write in EXPORT_FILES:
            name = template.format(key=report.period.key)
            write(report, scratch / name)
            names.append(name)
        target.mkdir(exist_ok=True)
        for name in names:
            os.replace(scratch / name, target / name)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return [target / name for name in names]
