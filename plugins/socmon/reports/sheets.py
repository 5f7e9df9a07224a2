"""What the workbooks' sheets share: the title's and header row's look, column widths, and the frame of a
weekly-only sheet. Every XLSX writer (daily/weekly, accounts, monthly) styles its sheets through these."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from socmon.reports.model import Report

HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="E8EEF4")
WRAP = Alignment(wrap_text=True, vertical="top")
TITLE_FONT = Font(bold=True, size=14)
DECIMAL_FORMAT = "0.0"


def append_header(sheet: Worksheet, headers: Sequence[str]) -> int:
    """Append the bold, shaded, wrapped header row; returns its row number."""
    sheet.append(list(headers))
    for cell in sheet[sheet.max_row]:
        cell.font, cell.fill, cell.alignment = HEADER_FONT, HEADER_FILL, WRAP
    return sheet.max_row


def set_widths(sheet: Worksheet, widths: Sequence[int]) -> None:
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width


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
    append_header(sheet, headers)
    for row in rows:
        sheet.append(list(row))
    if not rows:
        sheet.append([when_empty])
    set_widths(sheet, widths)
