"""The weekly report's «Сообщества вне реестра»: communities nobody registered where keyword search found
incidents that week (marts.mart_candidate_communities), with the registry row to add, so that the
analysts grow the registry from evidence."""

from __future__ import annotations

from html import escape

from openpyxl import Workbook
from psycopg import sql

from socmon.period import MOSCOW, ReportPeriod
from socmon.reports import labels_ru
from socmon.reports.model import CandidateCommunity, Report
from socmon.reports.sheets import write_weekly_sheet
from socmon.warehouse import server

SHEET = "Сообщества вне реестра"
HEADERS = ("Сообщество", "Сеть", "Инциденты за неделю", "Муниципалитеты", "Последний раз", "Строка реестра")
NONE_FOUND = "Поиск не нашёл инцидентов в сообществах вне реестра"


def fetch_candidate_communities(
    period: ReportPeriod, schema: str = "marts"
) -> tuple[CandidateCommunity, ...]:
    """The candidates of the period's ISO week, most incidents first."""
    if period.kind != "week":
        return ()
    with server.connect("officer") as conn:
        if not conn.execute(
            "select to_regclass(%s) is not null", [f"{schema}.mart_candidate_communities"]
        ).fetchall()[0][0]:
            return ()
        rows = conn.execute(
            sql.SQL(
                "select c.community_key, c.platform, c.incident_count,"
                " array_to_string(array("
                "   select coalesce(m.name_ru, named.code)"
                "   from unnest(c.municipality_codes) with ordinality as named (code, position)"
                "   left join {} m on m.code = named.code order by named.position), ', '),"
                " c.last_seen_at, c.suggested_registry_row"
                " from {} c where c.week_start = %s order by c.incident_count desc, c.community_key"
            ).format(
                sql.Identifier(schema, "dim_municipalities"),
                sql.Identifier(schema, "mart_candidate_communities"),
            ),
            [period.first_day],
        ).fetchall()
    return tuple(CandidateCommunity(*row) for row in rows)


def _cells(candidate: CandidateCommunity) -> list[str | int]:
    return [
        candidate.community_key,
        labels_ru.PLATFORM.get(candidate.platform, candidate.platform),
        candidate.incident_count,
        candidate.municipalities or labels_ru.UNKNOWN,
        candidate.last_seen_at.astimezone(MOSCOW).strftime("%d.%m.%Y %H:%M"),
        candidate.registry_row,
    ]


def write_candidates_sheet(workbook: Workbook, report: Report) -> None:
    """Only in a weekly workbook."""
    rows = [_cells(candidate) for candidate in report.candidates]
    write_weekly_sheet(workbook, report, SHEET, HEADERS, rows, NONE_FOUND, (24, 14, 12, 40, 18, 60))


def candidates_html_section(report: Report) -> str:
    if report.period.kind != "week":
        return ""
    if not report.candidates:
        return f"<section><h2>{escape(SHEET)}</h2><p>{escape(NONE_FOUND)}</p></section>"
    head = "".join(f"<th>{escape(h)}</th>" for h in HEADERS)
    rows = "".join(
        "<tr>" + "".join(f"<td>{escape(str(cell))}</td>" for cell in _cells(c)) + "</tr>"
        for c in report.candidates
    )
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
    return f"<section><h2>{escape(SHEET)}</h2>{table}</section>"
