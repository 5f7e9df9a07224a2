"""The weekly report's «Изменения за неделю»: the accounts' compliance failures that are new since the
previous week and those fixed since (marts.mart_account_compliance_weekly), per body and network."""

from __future__ import annotations

from html import escape

from openpyxl import Workbook
from psycopg import sql

from socmon.period import ReportPeriod
from socmon.reports import labels_ru
from socmon.reports.model import ComplianceChange, Report
from socmon.reports.sheets import write_weekly_sheet
from socmon.warehouse import server

SHEET = "Изменения за неделю"
HEADERS = (labels_ru.BODY, "Сеть", "Новые нарушения", "Устранённые нарушения")
NONE_CHANGED = "Новых и устранённых нарушений за неделю нет"


def fetch_compliance_changes(period: ReportPeriod, schema: str = "marts") -> tuple[ComplianceChange, ...]:
    """The rows of the period's ISO week with a new or a fixed failure, by body name and network."""
    if period.kind != "week":
        return ()
    query = sql.SQL(
        "select body_name_ru, body_code, platform, new_failed_check_codes, fixed_check_codes from {}"
        " where week_start_date = %s"
        " and (new_failed_check_codes is not null or fixed_check_codes is not null)"
        " order by body_name_ru, platform"
    ).format(sql.Identifier(schema, "mart_account_compliance_weekly"))
    with server.connect("officer") as conn:
        if not conn.execute(
            "select to_regclass(%s) is not null", [f"{schema}.mart_account_compliance_weekly"]
        ).fetchall()[0][0]:
            return ()
        rows = conn.execute(query, [period.first_day]).fetchall()
    return tuple(
        ComplianceChange(
            body_name=name or code,
            platform=platform,
            new_failures=new or "",
            fixed_failures=fixed or "",
        )
        for name, code, platform, new, fixed in rows
    )


def write_changes_sheet(workbook: Workbook, report: Report) -> None:
    """Only in a weekly workbook."""
    rows = [
        [
            change.body_name,
            labels_ru.PLATFORM.get(change.platform, change.platform),
            change.new_failures,
            change.fixed_failures,
        ]
        for change in report.changes
    ]
    write_weekly_sheet(workbook, report, SHEET, HEADERS, rows, NONE_CHANGED, (60, 14, 40, 40))


def changes_html_section(report: Report) -> str:
    if report.period.kind != "week":
        return ""
    if not report.changes:
        return f"<section><h2>{escape(SHEET)}</h2><p>{escape(NONE_CHANGED)}</p></section>"
    head = "".join(f"<th>{escape(h)}</th>" for h in HEADERS)
    rows = "".join(
        "<tr>"
        + "".join(
            f"<td>{escape(cell)}</td>"
            for cell in (
                labels_ru.short_body_name(c.body_name),
                labels_ru.PLATFORM.get(c.platform, c.platform),
                c.new_failures or labels_ru.UNKNOWN,
                c.fixed_failures or labels_ru.UNKNOWN,
            )
        )
        + "</tr>"
        for c in report.changes
    )
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
    return f"<section><h2>{escape(SHEET)}</h2>{table}</section>"
