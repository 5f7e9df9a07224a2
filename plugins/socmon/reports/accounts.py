"""The «Аккаунты» sheet: the official accounts' failed compliance checks per body (issue #5).

Rows come from `Report.accounts` (queries.fetch_account_compliance, marts.mart_account_compliance_daily):
one row per failed check of a body's account in a network, by body, network and check. The HTML
report shows the same failures as a small table, one row per body and network.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from html import escape
from itertools import groupby

from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from socmon.reports import labels_ru
from socmon.reports.model import AccountCompliance, AccountFailure, Report
from socmon.reports.sheets import DECIMAL_FORMAT, TITLE_FONT, WRAP, append_header, set_widths

WIDTHS = (50, 15, 24, 12, 34, 80, 14, 14)

Cell = str | float | None


def account_cells(failure: AccountFailure) -> list[Cell]:
    """One row in the order of labels_ru.ACCOUNT_HEADERS."""
    return [
        failure.body_name,
        labels_ru.PLATFORM.get(failure.platform, failure.platform),
        failure.screen_name or failure.account_key or labels_ru.NO_ACCOUNT,
        failure.check_code,
        failure.check_name,
        failure.explanation,
        failure.account_score_pct,
        failure.body_score_pct,
    ]


def as_of_text(accounts: AccountCompliance, report: Report) -> str:
    """«Состояние на 26.11.2026», noting when the first day with data comes after the period."""
    if accounts.day is None:
        return labels_ru.NO_ACCOUNT_DATA
    text = f"{labels_ru.ACCOUNTS_AS_OF} {accounts.day:{labels_ru.DATE_FORMAT}}"
    if accounts.day > report.period.last_day:
        text += f" ({labels_ru.ACCOUNTS_AS_OF_LATER})"
    return text


def write_accounts_sheet(workbook: Workbook, report: Report) -> None:
    """«Аккаунты»: a title, the day shown, one row per failed check, and how the scores are counted."""
    accounts = report.accounts
    sheet = workbook.create_sheet(labels_ru.SHEET_ACCOUNTS)
    sheet.append([labels_ru.ACCOUNTS_TITLE])
    sheet["A1"].font = TITLE_FONT
    sheet.append([as_of_text(accounts, report)])
    sheet.append([])
    header_row = append_header(sheet, labels_ru.ACCOUNT_HEADERS)
    for failure in accounts.failures:
        sheet.append(account_cells(failure))
        for cell in sheet[sheet.max_row]:
            cell.alignment = WRAP
        for cell in sheet[sheet.max_row][-2:]:
            cell.number_format = DECIMAL_FORMAT
    if accounts.day is not None and not accounts.failures:
        sheet.append([labels_ru.NO_ACCOUNT_FAILURES])
    sheet.append([])
    for note in labels_ru.ACCOUNT_NOTES:
        sheet.append([note])
    sheet.freeze_panes = sheet.cell(row=header_row + 1, column=1)
    if accounts.failures:
        last_column = get_column_letter(len(labels_ru.ACCOUNT_HEADERS))
        sheet.auto_filter.ref = f"A{header_row}:{last_column}{header_row + len(accounts.failures)}"
    set_widths(sheet, WIDTHS)


def accounts_html_section(report: Report) -> str:
    """A small table for the HTML report: body, network, score, failed checks; empty without data."""
    accounts = report.accounts
    if accounts.day is None:
        return ""
    heading = f"{labels_ru.TABLE_ACCOUNTS} ({as_of_text(accounts, report).lower()})"
    if not accounts.failures:
        return f"<section><h2>{escape(heading)}</h2><p>{escape(labels_ru.NO_ACCOUNT_FAILURES)}</p></section>"
    headers = (*labels_ru.ACCOUNT_HEADERS[:2], labels_ru.ACCOUNT_HEADERS[6], labels_ru.ACCOUNT_FAILED_CHECKS)
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    rows = "".join(_html_row(group) for _, group in _by_account(accounts.failures))
    return (
        f"<section><h2>{escape(heading)}</h2><table><thead><tr>{head}</tr></thead>"
        f"<tbody>{rows}</tbody></table></section>"
    )


def _by_account(
    failures: Sequence[AccountFailure],
) -> Iterator[tuple[tuple[str, str], Iterator[AccountFailure]]]:
    return groupby(failures, key=lambda f: (f.body_code, f.platform))


def _html_row(group: Iterable[AccountFailure]) -> str:
    failures = list(group)
    first = failures[0]
    score = labels_ru.decimal_text(first.account_score_pct)
    checks = "; ".join(f"{f.check_code} {f.check_name}" for f in failures)
    cells = [
        labels_ru.short_body_name(first.body_name),
        labels_ru.PLATFORM.get(first.platform, first.platform),
        score,
        checks,
    ]
    return "<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in cells) + "</tr>"
