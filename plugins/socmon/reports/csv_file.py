"""The incident list as CSV that Russian Excel opens as it is: UTF-8 with BOM, `;`-separated, every field
that starts like a formula written as text (`socmon.reports.cell_safety`)."""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

from socmon.reports import labels_ru
from socmon.reports.cell_safety import csv_text
from socmon.reports.incident_rows import Cell, incident_cells
from socmon.reports.model import Report


def write_incidents_csv(report: Report, path: Path) -> None:
    """Headers, then one line per incident (an empty period gives the headers alone)."""
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, delimiter=";", lineterminator="\r\n")
        writer.writerow(labels_ru.INCIDENT_HEADERS)
        for incident in report.incidents:
            writer.writerow([_text(cell) for cell in incident_cells(incident)])


def _text(cell: Cell) -> str:
    if isinstance(cell, datetime):
        return cell.strftime(labels_ru.DATETIME_FORMAT)
    return csv_text(cell or "")
