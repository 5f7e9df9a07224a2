"""The XLSX workbook: a sheet writer per sheet. A new sheet is one more function in SHEET_WRITERS."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from socmon.reports import labels_ru
from socmon.reports.accounts import write_accounts_sheet
from socmon.reports.candidates import write_candidates_sheet
from socmon.reports.cell_safety import keep_formulas_as_text
from socmon.reports.figures import Figures, figures_by_body, overall_figures
from socmon.reports.incident_rows import LINK_COLUMN, incident_cells
from socmon.reports.model import Report
from socmon.reports.sheets import DECIMAL_FORMAT, HEADER_FONT, TITLE_FONT, append_header, set_widths
from socmon.reports.weekly_changes import write_changes_sheet

SheetWriter = Callable[[Workbook, Report], None]

DATETIME_FORMAT = "DD.MM.YYYY HH:MM"

SUMMARY_WIDTHS = (60, 12, 12, 14, 12, 12, 14, 18)
INCIDENT_WIDTHS = (18, 15, 28, 50, 28, 11, 17, 17, 17, 20, 45, 32)


def write_summary_sheet(workbook: Workbook, report: Report) -> None:
    """«Сводка»: a title, one row per responsible body, the totals row and how the figures are counted."""
    sheet = workbook.create_sheet(labels_ru.SHEET_SUMMARY)
    sheet.append([f"{labels_ru.REPORT_TITLE} {labels_ru.period_title(report.period)}"])
    sheet["A1"].font = TITLE_FONT
    versions = ", ".join(report.rule_versions) or labels_ru.UNKNOWN
    sheet.append(
        [
            f"{labels_ru.GENERATED_AT}: {labels_ru.moscow_text(report.generated_at)} {labels_ru.MOSCOW_TIME}"
            f" · {labels_ru.RULE_VERSION}: {versions}"
        ]
    )
    sheet.append([])
    append_header(sheet, labels_ru.SUMMARY_HEADERS)
    header_row = sheet.max_row
    if report.incidents:
        for figures in figures_by_body(report.incidents):
            sheet.append(_summary_cells(figures))
        sheet.append(_summary_cells(overall_figures(report.incidents)))
        for cell in sheet[sheet.max_row]:
            cell.font = HEADER_FONT
        for row in sheet.iter_rows(min_row=header_row + 1, min_col=7, max_col=8):
            for cell in row:
                cell.number_format = DECIMAL_FORMAT
    else:
        sheet.append([labels_ru.NO_INCIDENTS])
    sheet.append([])
    for note in labels_ru.SUMMARY_NOTES:
        sheet.append([note])
    sheet.freeze_panes = sheet.cell(row=header_row + 1, column=1)
    set_widths(sheet, SUMMARY_WIDTHS)


def write_incidents_sheet(workbook: Workbook, report: Report) -> None:
    """«Инциденты»: the list, Moscow time, a clickable link, autofilter on the header."""
    sheet = workbook.create_sheet(labels_ru.SHEET_INCIDENTS)
    append_header(sheet, labels_ru.INCIDENT_HEADERS)
    for incident in report.incidents:
        sheet.append(incident_cells(incident))
        row = sheet.max_row
        for cell in sheet[row]:
            if cell.is_date:
                cell.number_format = DATETIME_FORMAT
        link = sheet.cell(row=row, column=LINK_COLUMN + 1)
        if link.value:
            link.hyperlink = str(link.value)
            link.style = "Hyperlink"
    if not report.incidents:
        sheet.append([labels_ru.NO_INCIDENTS])
    sheet.freeze_panes = "A2"
    last_column = get_column_letter(len(labels_ru.INCIDENT_HEADERS))
    sheet.auto_filter.ref = f"A1:{last_column}{max(sheet.max_row, 2)}"
    set_widths(sheet, INCIDENT_WIDTHS)


SHEET_WRITERS: tuple[SheetWriter, ...] = (
    write_summary_sheet,
    write_incidents_sheet,
    write_accounts_sheet,
    write_changes_sheet,
    write_candidates_sheet,
)


def write_workbook(report: Report, path: Path, sheet_writers: Sequence[SheetWriter] = SHEET_WRITERS) -> None:
    """One sheet per writer, in order."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    for write_sheet in sheet_writers:
        write_sheet(workbook, report)
    keep_formulas_as_text(workbook)
    workbook.save(path)


def _summary_cells(figures: Figures) -> list[str | int | float | None]:
    share = figures.on_time_share_pct
    hours = figures.average_hours_to_first_answer
    return [
        figures.label,
        figures.total,
        figures.on_time,
        figures.late,
        figures.overdue,
        figures.open,
        round(share, 1) if share is not None else None,
        round(hours, 1) if hours is not None else None,
    ]
