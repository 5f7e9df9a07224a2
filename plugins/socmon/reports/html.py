"""The HTML report: one self-contained page (inline CSS and SVG, no external assets), in Russian."""

from __future__ import annotations

from html import escape
from pathlib import Path

from socmon import __version__
from socmon.reports import labels_ru
from socmon.reports.accounts import accounts_html_section
from socmon.reports.candidates import candidates_html_section
from socmon.reports.figures import SLA_STATUSES, Figures, counts_by_category, figures_by_body, overall_figures
from socmon.reports.model import Report
from socmon.reports.svg import Series, bar_chart
from socmon.reports.weekly_changes import changes_html_section

STATUS_COLORS = {
    "answered_on_time": "#2e7d32",
    "answered_late": "#f0a202",
    "overdue": "#c62828",
    "open": "#78909c",
}
CATEGORY_COLOR = "#1f5f99"

CSS = """
:root { color-scheme: light; --ink: #1d2733; --muted: #5f6b7a; --line: #dde3ea; --panel: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; background: #eef1f5; color: var(--ink);
  font: 15px/1.5 "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1040px; margin: 24px auto; background: #fff; padding: 32px 40px 24px;
  border-radius: 10px; box-shadow: 0 1px 3px rgba(0, 0, 0, .08); }
.eyebrow { margin: 0; color: var(--muted); font-size: 13px; letter-spacing: .04em;
  text-transform: uppercase; }
h1 { margin: 4px 0 4px; font-size: 26px; line-height: 1.25; }
h2 { margin: 32px 0 12px; font-size: 18px; }
.subtitle { margin: 0; color: var(--muted); }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(140px, 1fr)); gap: 12px;
  margin-top: 24px; }
.card { background: var(--panel); border-radius: 8px; padding: 12px 14px; border-top: 4px solid #1f5f99; }
.card .value { font-size: 24px; font-weight: 600; }
.card .name { color: var(--muted); font-size: 13px; }
.empty { margin-top: 24px; padding: 24px; background: var(--panel); border-radius: 8px; font-size: 18px;
  text-align: center; }
.chart { display: block; font-size: 12px; }
.chart .label { fill: var(--ink); }
.chart .value, .chart .legend { fill: var(--muted); }
.chart .axis { stroke: var(--line); }
table { width: 100%; border-collapse: collapse; font-size: 14px; }
th, td { padding: 6px 8px; border-bottom: 1px solid var(--line); text-align: right; vertical-align: top; }
th { background: var(--panel); font-weight: 600; }
th:first-child, td:first-child { text-align: left; }
tbody tr:nth-child(even) { background: #fafbfc; }
tfoot td { font-weight: 600; border-top: 2px solid var(--ink); }
.notes { color: var(--muted); font-size: 13px; padding-left: 18px; }
footer { margin-top: 28px; padding-top: 12px; border-top: 1px solid var(--line); color: var(--muted);
  font-size: 13px; }
"""


def write_html_report(report: Report, path: Path) -> None:
    path.write_text(render_html_report(report), encoding="utf-8")


def render_html_report(report: Report) -> str:
    """The whole page; every piece of text is escaped."""
    title = f"{labels_ru.REPORT_TITLE} {labels_ru.period_title(report.period)}"
    body = _figures_sections(report) if report.incidents else f'<p class="empty">{labels_ru.NO_INCIDENTS}</p>'
    return (
        '<!DOCTYPE html>\n<html lang="ru">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n"
        f'<header><p class="eyebrow">socmon · {escape(labels_ru.REPORT_SUBTITLE)}</p>'
        f"<h1>{escape(title)}</h1></header>\n"
        f"{body}\n{accounts_html_section(report)}\n{changes_html_section(report)}\n"
        f"{candidates_html_section(report)}\n{_footer(report)}\n"
        "</main>\n</body>\n</html>\n"
    )


def _figures_sections(report: Report) -> str:
    bodies = figures_by_body(report.incidents)
    total = overall_figures(report.incidents)
    status_series = [Series(labels_ru.STATUS_PLURAL[s], STATUS_COLORS[s]) for s in SLA_STATUSES]
    body_rows = [(labels_ru.short_body_name(f.label), [f.by_status[s] for s in SLA_STATUSES]) for f in bodies]
    category_series = [Series(labels_ru.KEY_TOTAL, CATEGORY_COLOR)]
    category_rows = [(name, [count]) for name, count in counts_by_category(report.incidents)]
    notes = "".join(f"<li>{escape(note)}</li>" for note in labels_ru.SUMMARY_NOTES)
    return "\n".join(
        [
            _cards(total),
            _section(labels_ru.CHART_BY_BODY, bar_chart(labels_ru.CHART_BY_BODY, body_rows, status_series)),
            _section(
                labels_ru.CHART_BY_CATEGORY,
                bar_chart(labels_ru.CHART_BY_CATEGORY, category_rows, category_series),
            ),
            _section(labels_ru.TABLE_BY_BODY, f'{_body_table(bodies, total)}<ul class="notes">{notes}</ul>'),
        ]
    )


def _section(heading: str, content: str) -> str:
    """A titled section; `content` is markup built (and escaped) by the caller."""
    return f"<section><h2>{escape(heading)}</h2>{content}</section>"


def _cards(total: Figures) -> str:
    cards = [
        (labels_ru.KEY_TOTAL, str(total.total), "#1f5f99"),
        *((labels_ru.STATUS_PLURAL[s], str(total.by_status[s]), STATUS_COLORS[s]) for s in SLA_STATUSES),
        (labels_ru.KEY_ON_TIME_SHARE, labels_ru.decimal_text(total.on_time_share_pct, "%"), "#2e7d32"),
        (
            labels_ru.KEY_AVERAGE_HOURS,
            labels_ru.decimal_text(total.average_hours_to_first_answer, labels_ru.HOURS_UNIT),
            "#1f5f99",
        ),
    ]
    items = "".join(
        f'<div class="card" style="border-top-color:{color}"><div class="value">{escape(value)}</div>'
        f'<div class="name">{escape(name)}</div></div>'
        for name, value, color in cards
    )
    return f'<section class="cards">{items}</section>'


def _body_table(bodies: list[Figures], total: Figures) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in labels_ru.SUMMARY_HEADERS)
    rows = "".join(f"<tr>{_body_cells(f)}</tr>" for f in bodies)
    return (
        f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody>"
        f"<tfoot><tr>{_body_cells(total)}</tr></tfoot></table>"
    )


def _body_cells(figures: Figures) -> str:
    cells = [
        figures.label,
        str(figures.total),
        str(figures.on_time),
        str(figures.late),
        str(figures.overdue),
        str(figures.open),
        labels_ru.decimal_text(figures.on_time_share_pct),
        labels_ru.decimal_text(figures.average_hours_to_first_answer),
    ]
    return "".join(f"<td>{escape(cell)}</td>" for cell in cells)


def _footer(report: Report) -> str:
    versions = ", ".join(report.rule_versions) or labels_ru.UNKNOWN
    return (
        f"<footer>{escape(labels_ru.GENERATED_AT)}: {escape(labels_ru.moscow_text(report.generated_at))} "
        f"{escape(labels_ru.MOSCOW_TIME)} · {escape(labels_ru.RULE_VERSION)}: {escape(versions)} · "
        f"socmon {escape(__version__)}</footer>"
    )
