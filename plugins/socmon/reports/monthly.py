"""The monthly report: the bodies' rating with its green/yellow/red zones (marts.mart_body_rating_monthly),
the municipalities' table and the month's trend by day, as XLSX and HTML (socmon_monthly_<YYYY-MM>.*)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import PatternFill
from psycopg import sql
from psycopg.rows import dict_row

from socmon.period import MOSCOW, ReportPeriod, report_period
from socmon.reports import labels_ru
from socmon.reports.cell_safety import keep_formulas_as_text
from socmon.reports.figures import Figures, figures_for, overall_figures
from socmon.reports.model import Incident
from socmon.reports.queries import fetch_incidents
from socmon.reports.sheets import TITLE_FONT, append_header, set_widths
from socmon.reports.svg import Series, bar_chart
from socmon.reports.templating import Provenance, current_provenance, render
from socmon.warehouse import server

ZONES = {"green": "зелёная", "yellow": "жёлтая", "red": "красная"}
ZONE_FILLS = {"green": "C8E6C9", "yellow": "FFF59D", "red": "FFCDD2"}
RATING_HEADERS = (
    "Место",
    labels_ru.BODY,
    "Инцидентов",
    "Срок наступил",
    "Первый ответ в срок, %",
    "Среднее время до первого ответа, раб. ч",
    "Просрочено",
    "Итоговый ответ в срок, %",
    "Зона",
)
MUNICIPALITY_HEADERS = (
    "Муниципалитет",
    "Инцидентов",
    "Отвечено в срок",
    "Просрочено",
    "Открыто",
    "В срок, %",
)
TREND_HEADERS = ("День", "Инцидентов", "Просрочено")


@dataclass(frozen=True)
class RatingRow:
    place: int | None
    body_name: str
    incident_count: int
    due_count: int
    on_time_pct: float | None
    mean_working_hours: float | None
    overdue_count: int
    final_on_time_pct: float | None
    zone: str | None

    @property
    def zone_text(self) -> str:
        return ZONES.get(self.zone or "", "не оценивается")

    def cells(self) -> list:
        return [
            self.place,
            self.body_name,
            self.incident_count,
            self.due_count,
            _round(self.on_time_pct),
            _round(self.mean_working_hours),
            self.overdue_count,
            _round(self.final_on_time_pct),
            self.zone_text,
        ]


@dataclass(frozen=True)
class MonthlyReport:
    period: ReportPeriod
    rating: list[RatingRow]
    municipalities: list[Figures]
    trend: list[tuple[date, int, int]]  # (day, incidents published, of them overdue)
    totals: Figures
    previous_totals: Figures
    provenance: Provenance

    @property
    def zone_counts(self) -> dict[str, int]:
        counts = Counter(row.zone for row in self.rating if row.zone)
        return {zone: counts.get(zone, 0) for zone in ZONES}


def build_monthly_report(day: date, schema: str = "marts") -> MonthlyReport:
    covered = report_period("month", day)
    previous = report_period("month", covered.first_day - timedelta(days=1))
    incidents = fetch_incidents(covered, schema=schema)
    return MonthlyReport(
        period=covered,
        rating=fetch_rating(covered.first_day, schema),
        municipalities=_by_municipality(incidents),
        trend=_trend(covered, incidents),
        totals=overall_figures(incidents),
        previous_totals=overall_figures(fetch_incidents(previous, schema=schema)),
        provenance=current_provenance(schema),
    )


def fetch_rating(month: date, schema: str = "marts") -> list[RatingRow]:
    """The bodies' rows of the month, rated ones by share on time (best first), the unrated after."""
    query = sql.SQL(
        """
        select coalesce(b.name_ru, r.responsible_body_code) as body_name, r.*
        from {rating} as r
        left join {bodies} as b on b.code = r.responsible_body_code
        where r.rating_month = %s and r.rating_scope = 'body'
        order by r.rating_zone is null, r.first_answers_on_time_share desc nulls last,
                 r.overdue_count, body_name
        """
    ).format(
        rating=sql.Identifier(schema, "mart_body_rating_monthly"),
        bodies=sql.Identifier(schema, "dim_executive_bodies"),
    )
    with server.connect("officer") as conn, conn.cursor(row_factory=dict_row) as cursor:
        rows = cursor.execute(query, [month]).fetchall()
    rated = 0
    result = []
    for row in rows:
        if row["rating_zone"]:
            rated += 1
        result.append(
            RatingRow(
                place=rated if row["rating_zone"] else None,
                body_name=row["body_name"],
                incident_count=row["incident_count"],
                due_count=row["due_incident_count"],
                on_time_pct=_pct(row["first_answers_on_time_share"]),
                mean_working_hours=_float(row["mean_working_hours_to_first_answer"]),
                overdue_count=row["overdue_count"],
                final_on_time_pct=_pct(row["final_answers_on_time_share"]),
                zone=row["rating_zone"],
            )
        )
    return result


def export_month(day: date, target: Path, schema: str = "marts") -> list[Path]:
    report = build_monthly_report(day, schema)
    target.mkdir(parents=True, exist_ok=True)
    workbook = target / f"socmon_monthly_{report.period.key}.xlsx"
    page = target / f"socmon_monthly_{report.period.key}.html"
    write_monthly_workbook(report, workbook)
    page.write_text(render_monthly_html(report), encoding="utf-8")
    return [workbook, page]


def render_monthly_html(report: MonthlyReport) -> str:
    trend_rows = [(f"{d:%d.%m}", [total - overdue, overdue]) for d, total, overdue in report.trend]
    trend_chart = bar_chart(
        "По дням",
        trend_rows,
        [Series("Прочие", "#1f5f99"), Series(labels_ru.STATUS_PLURAL["overdue"], "#c62828")],
    )
    return render(
        "monthly_report.html.j2",
        title=f"Рейтинг органов {labels_ru.period_title(report.period)}",
        report=report,
        zones=ZONES,
        trend_chart=trend_chart,
        municipality_headers=MUNICIPALITY_HEADERS,
        rating_headers=RATING_HEADERS,
        provenance=report.provenance,
    )


def write_monthly_workbook(report: MonthlyReport, path: Path) -> None:
    workbook = Workbook()
    rating = workbook.active
    rating.title = "Рейтинг"
    rating.append([f"Рейтинг органов {labels_ru.period_title(report.period)}"])
    rating["A1"].font = TITLE_FONT
    rating.append([_provenance_line(report.provenance)])
    rating.append([])
    append_header(rating, RATING_HEADERS)
    for row in report.rating:
        rating.append(row.cells())
        if row.zone:
            rating.cell(rating.max_row, len(RATING_HEADERS)).fill = PatternFill(
                "solid", fgColor=ZONE_FILLS[row.zone]
            )
    if not report.rating:
        rating.append(["Рейтинг за месяц ещё не рассчитан"])
    set_widths(rating, (8, 60, 12, 14, 14, 18, 12, 14, 16))

    municipalities = workbook.create_sheet("Муниципалитеты")
    append_header(municipalities, MUNICIPALITY_HEADERS)
    for figures in report.municipalities:
        municipalities.append(_municipality_cells(figures))
    set_widths(municipalities, (40, 12, 14, 12, 12, 12))

    trend = workbook.create_sheet("Динамика")
    append_header(trend, TREND_HEADERS)
    for day, total, overdue in report.trend:
        trend.append([day, total, overdue])
        trend.cell(trend.max_row, 1).number_format = "DD.MM.YYYY"
    trend.append([])
    trend.append(["Всего за месяц", report.totals.total, report.totals.overdue])
    trend.append(["Всего за предыдущий месяц", report.previous_totals.total, report.previous_totals.overdue])
    set_widths(trend, (28, 12, 12))
    keep_formulas_as_text(workbook)
    workbook.save(path)


def _municipality_cells(figures: Figures) -> list:
    return [
        figures.label,
        figures.total,
        figures.on_time,
        figures.overdue,
        figures.open,
        _round(figures.on_time_share_pct),
    ]


def _by_municipality(incidents: list[Incident]) -> list[Figures]:
    groups: dict[str, list[Incident]] = defaultdict(list)
    for incident in incidents:
        groups[incident.municipality_name].append(incident)
    rows = [figures_for(name, group) for name, group in groups.items()]
    return sorted(rows, key=lambda row: (-row.total, row.label))


def _trend(covered: ReportPeriod, incidents: list[Incident]) -> list[tuple[date, int, int]]:
    totals: Counter[date] = Counter()
    overdue: Counter[date] = Counter()
    for incident in incidents:
        day = incident.published_at.astimezone(MOSCOW).date()
        totals[day] += 1
        overdue[day] += incident.sla_status == "overdue"
    days = [
        covered.first_day + timedelta(days=n) for n in range((covered.last_day - covered.first_day).days + 1)
    ]
    return [(day, totals[day], overdue[day]) for day in days]


def _provenance_line(provenance: Provenance) -> str:
    return (
        f"Версия правил: {provenance.rule_version}"
        f" · данные по {labels_ru.moscow_text(provenance.data_cutoff)} МСК"
        f" · проверка качества: {provenance.gate_run}"
        f" · сформировано {labels_ru.moscow_text(provenance.made_at)} МСК"
    )


def _pct(share) -> float | None:
    return float(share) * 100 if share is not None else None


def _float(value) -> float | None:
    return float(value) if value is not None else None


def _round(value: float | None) -> float | None:
    return round(value, 1) if value is not None else None
