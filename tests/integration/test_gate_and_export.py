"""The GX gate and the exports, against a throwaway schema in the real warehouse."""

from __future__ import annotations

import csv
import secrets
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import openpyxl
import psycopg
import pytest
from psycopg import sql

from socmon.quality.gate import GateFailed, run_gate
from socmon.reports import export as export_module
from socmon.reports import labels_ru
from socmon.reports.export import export_if_gate_passes, export_period
from socmon.reports.html import render_html_report
from socmon.reports.model import Incident, Report
from socmon.reports.period import MOSCOW, report_period
from socmon.warehouse import server

pytestmark = pytest.mark.integration

DAY = date(2026, 3, 17)  # a Tuesday, in ISO week 2026-W12 (16–22 March)
EMPTY_DAY = date(2026, 3, 1)

FCT_INCIDENTS = """
create table {schema}.fct_incidents (
    incident_id           text primary key,
    platform              text,
    message_url           text,
    source_message_key    text,
    category_code         text,
    responsible_body_code text,
    municipality_code     text,
    importance            text,
    published_at          timestamptz,
    detected_at           timestamptz,
    deadline_at           timestamptz,
    first_answer_at       timestamptz,
    final_answer_at       timestamptz,
    sla_status            text,
    rule_version          text,
    message_text          text,
    clock_start_at        timestamptz
)
"""
# the compliance mart the gate also checks (issue #5): its columns, empty
COMPLIANCE_DAILY = (
    "create table {schema}.mart_account_compliance_daily (compliance_date date, body_code text,"
    " platform text,"
    " body_name_ru text, tier text, account_key text, account_score_pct numeric, body_score_pct numeric,"
    " is_compliant boolean, failed_check_codes text, not_evaluated_check_codes text,"
    " not_applicable_check_codes text, "
    + ", ".join(
        f"acc{n:02d}_status text, acc{n:02d}_is_passed boolean, acc{n:02d}_value numeric,"
        f" acc{n:02d}_threshold numeric, acc{n:02d}_explanation_ru text"
        for n in range(1, 11)
    )
    + ")"
)
KRAI = " Краснодарского края"
BODIES = [
    ("mintrans", "Министерство транспорта и дорожного хозяйства Краснодарского края"),
    ("mintek", "Министерство топливно-энергетического комплекса и жилищно-коммунального хозяйства" + KRAI),
    ("minzdrav", "Министерство здравоохранения Краснодарского края"),
]  # minobr is left out on purpose: its name falls back to the code
CATEGORIES = [
    ("roads", "Дороги"),
    ("utilities", "ЖКХ: коммунальные услуги"),
    ("waste", "Мусор и ТКО"),
    ("healthcare", "Здравоохранение"),
]

# (id, platform, key, category, body, municipality, importance, published, detected, deadline,
#  first answer, final answer, status); times in UTC, Moscow is UTC+3
INCIDENTS = [
    ("inc-01", "vk", "vk:wall-123_456", "roads", "mintrans", "krasnodar", "normal",
     "2026-03-17 06:10", "2026-03-17 06:40", "2026-03-17 14:30", "2026-03-17 09:10", "2026-03-17 12:00",
     "answered_on_time"),
    ("inc-02", "vk", "vk:comment-123_456_789", "utilities", "mintek", "sochi", "high",
     "2026-03-17 07:00", "2026-03-17 07:05", "2026-03-17 11:05", "2026-03-17 13:00", None,
     "answered_late"),
    ("inc-03", "telegram", "telegram:1234567890/42", "waste", "mintek", "novorossiysk", "normal",
     "2026-03-17 08:00", "2026-03-17 08:20", "2026-03-17 15:00", None, None, "overdue"),
    ("inc-04", "ok", "ok:topic/155000111", "healthcare", "minzdrav", "armavir", "normal",
     "2026-03-17 12:30", "2026-03-17 12:45", "2026-03-18 09:45", None, None, "open"),
    ("inc-05", "ok", "ok:comment/155000111/abc123", "roads", "mintrans", None, "high",
     "2026-03-17 10:00", "2026-03-17 10:02", "2026-03-17 14:02", "2026-03-17 11:00", None,
     "answered_on_time"),
    ("inc-06", "vk", "vk:wall-777_1", "education", "minobr", "anapa", "normal",
     "2026-03-17 11:15", "2026-03-17 11:20", "2026-03-18 07:20", "2026-03-17 13:15", None,
     "answered_on_time"),
    ("inc-07", "telegram", "telegram:999/7", "roads", "mintrans", "krasnodar", "normal",
     "2026-03-17 13:00", "2026-03-17 13:01", "2026-03-18 09:01", None, None, "overdue"),
    ("inc-08", "vk", "vk:wall-123_500", "roads", "mintrans", "krasnodar", "normal",  # 00:30 MSK on DAY
     "2026-03-16 21:30", "2026-03-16 21:35", "2026-03-17 14:00", "2026-03-17 07:30", None,
     "answered_on_time"),
    ("inc-09", "vk", "vk:wall-123_501", "roads", "mintrans", "krasnodar", "normal",  # 00:30 MSK the next day
     "2026-03-17 21:30", "2026-03-17 21:40", "2026-03-18 14:00", None, None, "open"),
    ("inc-10", "telegram", "telegram:1234567890/43", "waste", "mintek", "sochi", "normal",  # the week before
     "2026-03-10 09:00", "2026-03-10 09:10", "2026-03-10 17:00", "2026-03-10 10:00", None,
     "answered_on_time"),
]  # fmt: skip
ON_DAY = 8  # inc-01..08
IN_WEEK = 9  # and inc-09


def _utc(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text).replace(tzinfo=UTC) if text else None


def _insert_incident(conn: psycopg.Connection, schema: str, row: tuple) -> None:
    (incident_id, platform, key, category, body, municipality, importance, *times, status) = row
    published, detected, deadline, first_answer, final_answer = map(_utc, times)
    url = {
        "vk": f"https://vk.com/{key.removeprefix('vk:')}",
        "telegram": f"https://t.me/c/{key.removeprefix('telegram:')}",
        "ok": f"https://ok.ru/group/{key.removeprefix('ok:')}",
    }[platform]
    conn.execute(
        sql.SQL("insert into {} values ({})").format(
            sql.Identifier(schema, "fct_incidents"), sql.SQL(", ").join([sql.Placeholder()] * 17)
        ),
        [incident_id, platform, url, key, category, body, municipality, importance, published, detected,
         deadline, first_answer, final_answer, status, "2026.03-test", "Яма на дороге, помогите", detected],
    )  # fmt: skip


@pytest.fixture(scope="module")
def schema(warehouse) -> Iterator[str]:
    """A schema with fct_incidents, dim_executive_bodies and categories, dropped at the end."""
    name = f"test_gate_{secrets.token_hex(4)}"
    ident = sql.Identifier(name)
    with server.connect("admin", autocommit=True) as conn:
        conn.execute(sql.SQL("create schema {}").format(ident))
        try:
            conn.execute(sql.SQL(FCT_INCIDENTS).format(schema=ident))
            conn.execute(sql.SQL(COMPLIANCE_DAILY).format(schema=ident))
            for table, rows in (("dim_executive_bodies", BODIES), ("categories", CATEGORIES)):
                conn.execute(sql.SQL("create table {} (code text primary key, name_ru text)").format(
                    sql.Identifier(name, table)))  # fmt: skip
                for row in rows:
                    conn.execute(
                        sql.SQL("insert into {} values (%s, %s)").format(sql.Identifier(name, table)), row
                    )
            for incident in INCIDENTS:
                _insert_incident(conn, name, incident)
            yield name
        finally:
            conn.execute(sql.SQL("drop schema {} cascade").format(ident))
            for audit in ("gate_runs", "export_log"):
                if conn.execute("select to_regclass(%s)", [f"ops.{audit}"]).fetchone()[0]:
                    delete = sql.SQL("delete from {} where schema_name like %s")
                    conn.execute(delete.format(sql.Identifier("ops", audit)), [f"{name}%"])


@pytest.fixture
def bad_status_row(schema: str) -> Iterator[None]:
    """One incident with an sla_status outside the contract, removed afterwards."""
    bad = ("inc-bad", "vk", "vk:wall-1_2", "roads", "mintrans", "krasnodar", "normal",
           "2026-03-17 09:00", "2026-03-17 09:05", "2026-03-17 17:00", None, None, "pending")  # fmt: skip
    with server.connect("admin", autocommit=True) as conn:
        _insert_incident(conn, schema, bad)
        try:
            yield
        finally:
            conn.execute(
                sql.SQL("delete from {} where incident_id = 'inc-bad'").format(
                    sql.Identifier(schema, "fct_incidents")
                )
            )


def _export(schema: str, out_dir: Path, period: str = "day", day: date = DAY) -> list[Path]:
    return export_period(period, day, schema=schema, out_dir=out_dir, reference_schema=schema)


def _summary_rows(sheet) -> dict[str, tuple]:
    rows = list(sheet.iter_rows(values_only=True))
    header = next(i for i, row in enumerate(rows) if row[0] == labels_ru.BODY)
    assert rows[header] == labels_ru.SUMMARY_HEADERS
    return {row[0]: row[1:] for row in rows[header + 1 :] if row[0] and row[1] is not None}


# ---- the gate ----


def test_gate_passes_on_good_rows(schema: str) -> None:
    result = run_gate(schema)

    assert result.success, result.summary()
    assert result.failures == []
    assert result.tables == 2
    assert result.summary() == f"gate passed: {result.expectations} expectations on 2 tables"
    with server.connect("admin") as conn:
        recorded = conn.execute(
            "select success, failures from ops.gate_runs where schema_name = %s order by run_at desc limit 1",
            [schema],
        ).fetchone()
    assert recorded == (True, [])


def test_gate_fails_on_an_unknown_sla_status(schema: str, bad_status_row: None) -> None:
    result = run_gate(schema)

    assert not result.success
    [failure] = [f for f in result.failures if "sla_status" in f]
    assert failure.startswith("fct_incidents: expect_column_values_to_be_in_set(sla_status)")
    assert "1 unexpected values: ['pending']" in failure
    assert failure in result.summary().splitlines()


def test_gate_fails_when_the_table_is_missing(schema: str) -> None:
    result = run_gate(f"{schema}_missing")

    assert not result.success
    assert "fct_incidents: table" in result.summary() and "is missing" in result.summary()


def test_export_is_refused_and_nothing_written_when_the_gate_fails(
    schema: str, bad_status_row: None, tmp_path: Path
) -> None:
    with pytest.raises(GateFailed) as refused:
        export_if_gate_passes("day", DAY, schema=schema, out_dir=tmp_path, reference_schema=schema)

    assert "sla_status" in str(refused.value)
    assert list(tmp_path.iterdir()) == []


# ---- the exports ----


def test_day_export_writes_three_files(schema: str, tmp_path: Path) -> None:
    paths = export_if_gate_passes("day", DAY, schema=schema, out_dir=tmp_path, reference_schema=schema)

    folder = tmp_path / "2026-03-17"
    assert paths == [
        folder / "socmon_incidents_2026-03-17.xlsx",
        folder / "socmon_incidents_2026-03-17.csv",
        folder / "socmon_report_2026-03-17.html",
    ]
    assert sorted(p.name for p in tmp_path.rglob("*")) == sorted(["2026-03-17", *(p.name for p in paths)])


def test_xlsx_has_the_summary_per_body_and_the_incident_list(schema: str, tmp_path: Path) -> None:
    xlsx = _export(schema, tmp_path)[0]
    workbook = openpyxl.load_workbook(xlsx)

    assert workbook.sheetnames == [
        labels_ru.SHEET_SUMMARY,
        labels_ru.SHEET_INCIDENTS,
        labels_ru.SHEET_ACCOUNTS,
    ]
    accounts = [row[0] for row in workbook[labels_ru.SHEET_ACCOUNTS].iter_rows(values_only=True)]
    assert labels_ru.NO_ACCOUNT_DATA in accounts  # the mart is empty here
    summary = _summary_rows(workbook[labels_ru.SHEET_SUMMARY])
    mintrans = "Министерство транспорта и дорожного хозяйства Краснодарского края"
    # total, on time, late, overdue, open, % on time, mean hours to the first answer
    assert summary[mintrans][:6] == (4, 3, 0, 1, 0, 75.0)
    assert summary[mintrans][6] == pytest.approx((3 + 1 + 10) / 3, abs=0.05)
    assert summary[BODIES[1][1]][:5] == (2, 0, 1, 1, 0)
    assert summary[BODIES[2][1]][:5] == (1, 0, 0, 0, 1)
    assert summary[BODIES[2][1]][5:] == (None, None)
    assert summary["minobr"][:2] == (1, 1)  # no name in the dim: the code stands in
    assert summary[labels_ru.TOTAL_ROW][:6] == (ON_DAY, 4, 1, 2, 1, pytest.approx(4 / 7 * 100, abs=0.05))

    sheet = workbook[labels_ru.SHEET_INCIDENTS]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == labels_ru.INCIDENT_HEADERS
    assert len(rows) == 1 + ON_DAY
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref.startswith("A1:L")
    assert all(cell.font.bold for cell in sheet[1])
    first = dict(zip(labels_ru.INCIDENT_HEADERS, rows[1], strict=True))
    assert first["Дата публикации (МСК)"] == datetime(2026, 3, 17, 0, 30)  # 21:30 UTC the day before
    assert first["Платформа"] == "ВКонтакте"
    assert first["Категория"] == "Дороги"
    assert first["Статус"] == "ответ в срок"
    assert first["Муниципалитет"] == "krasnodar"  # no dim_municipalities here: the code stands in
    assert first["Ключ сообщения"] == "vk:wall-123_500"
    link = sheet.cell(row=2, column=labels_ru.INCIDENT_HEADERS.index("Ссылка") + 1)
    assert link.hyperlink.target == "https://vk.com/wall-123_500"
    statuses = {row[9] for row in rows[1:]}
    assert statuses == set(labels_ru.STATUS.values())


def test_csv_opens_in_russian_excel(schema: str, tmp_path: Path) -> None:
    csv_path = _export(schema, tmp_path)[1]

    assert csv_path.read_bytes().startswith(b"\xef\xbb\xbf")
    with csv_path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle, delimiter=";"))
    assert tuple(rows[0]) == labels_ru.INCIDENT_HEADERS
    assert len(rows) == 1 + ON_DAY
    assert rows[1][0] == "17.03.2026 00:30"
    assert rows[1][-1] == "vk:wall-123_500"


def test_html_report_is_self_contained_and_in_russian(schema: str, tmp_path: Path) -> None:
    html = _export(schema, tmp_path)[2].read_text(encoding="utf-8")

    assert '<html lang="ru">' in html
    assert "Инциденты в социальных сетях за 17.03.2026" in html
    assert html.count("<svg") == 2
    assert "Министерство транспорта и дорожного хозяйства" in html
    assert "2026.03-test" in html
    for external in ("<script", "<link", "src=", "url("):
        assert external not in html


def test_week_export_covers_monday_to_sunday(schema: str, tmp_path: Path) -> None:
    paths = _export(schema, tmp_path, period="week")

    assert [p.parent.name for p in paths] == ["2026-W12"] * 3
    assert paths[0].name == "socmon_incidents_2026-W12.xlsx"
    with paths[1].open(encoding="utf-8-sig", newline="") as handle:
        assert len(list(csv.reader(handle, delimiter=";"))) == 1 + IN_WEEK
    with server.connect("admin") as conn:
        logged = conn.execute(
            "select period, period_key, row_count, jsonb_array_length(files) from ops.export_log"
            " where schema_name = %s and period = 'week' order by exported_at desc limit 1",
            [schema],
        ).fetchone()
    assert logged == ("week", "2026-W12", IN_WEEK, 3)


def test_empty_day_still_writes_valid_files(schema: str, tmp_path: Path) -> None:
    xlsx, csv_path, html_path = _export(schema, tmp_path, day=EMPTY_DAY)

    workbook = openpyxl.load_workbook(xlsx)
    texts = [row[0] for row in workbook[labels_ru.SHEET_SUMMARY].iter_rows(values_only=True)]
    assert labels_ru.NO_INCIDENTS in texts
    assert labels_ru.NO_INCIDENTS in html_path.read_text(encoding="utf-8")
    with csv_path.open(encoding="utf-8-sig", newline="") as handle:
        assert [tuple(row) for row in csv.reader(handle, delimiter=";")] == [labels_ru.INCIDENT_HEADERS]


def test_failed_export_leaves_nothing_behind(
    schema: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_writer(report: Report, path: Path) -> None:
        path.write_text("half")
        raise RuntimeError("disk full")

    monkeypatch.setattr(
        export_module, "EXPORT_FILES", (*export_module.EXPORT_FILES, ("x_{key}.txt", broken_writer))
    )

    with pytest.raises(RuntimeError, match="disk full"):
        _export(schema, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_html_escapes_every_text() -> None:
    moment = datetime(2026, 3, 17, 9, 0, tzinfo=MOSCOW)
    incident = Incident(
        incident_id="x", platform="vk", message_url="https://vk.com/wall-1_1",
        source_message_key="vk:wall-1_1", category_code="roads", category_name="Дороги & <мосты>",
        body_code="b", body_name="<script>alert(1)</script>",
        municipality_code=None, municipality_name="—", importance="normal", published_at=moment,
        detected_at=moment, deadline_at=moment, first_answer_at=None, final_answer_at=None,
        sla_status="open", rule_version='v"1',
    )  # fmt: skip
    html = render_html_report(Report(report_period("day", DAY), (incident,), moment))

    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Дороги &amp; &lt;мосты&gt;" in html
    assert "v&quot;1" in html
