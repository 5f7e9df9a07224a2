"""What the workbooks' sheets share: the header row's look, and the frame of a weekly-only sheet."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from socmon.reports.model import Report

HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="E8EEF4")


def write_weekly_sheet(
    workbook: Workbook,
    report: Report,
    title: str,
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    when_empty: str,
    widths: Sequence[int],
) -> None:
    """A sheet of the weekly workbook only: bold headers, the rows (or `when_empty`), column widths."""
    if report.period.kind != "week":
        return
    sheet = workbook.create_sheet(title)
    sheet.append(list(headers))
    for cell in sheet[1]:
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
    for row in rows:
        sheet.append(list(row))
    if not rows:
        sheet.append([when_empty])
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
