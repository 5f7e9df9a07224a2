"""The GX gate and the exports, against a throwaway schema in the real warehouse, and the gate inside
`socmon_publish` (run with `airflow dags test`) against hand-made marts."""

from __future__ import annotations

import csv
import importlib
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

import openpyxl
import psycopg
import pytest
from psycopg import sql

from socmon import cli
from socmon.orchestration import DagRunFailed, airflow_environment, dags_test, ensure_airflow
from socmon.period import MOSCOW, report_period
from socmon.quality.gate import GateFailed, run_gate
from socmon.quality.suites import load_registry
from socmon.reports import export as export_module
from socmon.reports import labels_ru
from socmon.reports.export import export_if_gate_passes, export_period
from socmon.reports.html import render_html_report
from socmon.reports.model import Incident, Report
from socmon.warehouse import server
from socmon.warehouse.runs import ensure_runs_table

pytestmark = pytest.mark.integration

DAY = date(2026, 3, 17)  # a Tuesday, in ISO week 2026-W12 (16–22 March)
EMPTY_DAY = date(2026, 3, 1)
# the marts were last built at 03:00 on Friday the 20th: fresh for days up to the 19th
BUILT_AT = datetime(2026, 3, 20, 3, 0, tzinfo=MOSCOW)
STALE_DAY = date(2026, 3, 20)

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
FCT_MESSAGES = (
    "create table {schema}.fct_messages_classified"
    " (source_message_key text primary key, published_at timestamptz, is_incident boolean)"
)
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


def _suites(module: str):
    """A module of the project's `expectations/` package, as the gate loads it."""
    load_registry()
    return importlib.import_module(f"socmon_expectations.{module}")


def _registered_rows_per_day() -> int:
    compliance = _suites("account_compliance")
    return len(compliance.reference_codes("executive_bodies")) * len(compliance.required_networks())


def _insert_message(
    conn: psycopg.Connection, schema: str, key: str, published: str, is_incident: bool
) -> None:
    table = sql.Identifier(schema, "fct_messages_classified")
    conn.execute(
        sql.SQL("insert into {} values (%s, %s, %s)").format(table), [key, _utc(published), is_incident]
    )


def _insert_incident(conn: psycopg.Connection, schema: str, row: tuple) -> None:
    """The incident and its message in fct_messages_classified."""
    (incident_id, platform, key, category, body, municipality, importance, *times, status) = row
    published, detected, deadline, first_answer, final_answer = map(_utc, times)
    _insert_message(conn, schema, key, times[0], is_incident=True)
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
            conn.execute(sql.SQL(FCT_MESSAGES).format(schema=ident))
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
            # the gate and the exports read as the officers' role, as they read casework and the marts
            conn.execute(sql.SQL("grant usage on schema {} to socmon_officer").format(ident))
            conn.execute(sql.SQL("grant select on all tables in schema {} to socmon_officer").format(ident))
            _insert_message(conn, name, "vk:wall-123_999", "2026-03-17 10:00", is_incident=False)
            yield name
        finally:
            conn.execute(sql.SQL("drop schema {} cascade").format(ident))
            for audit in ("gate_runs", "export_log"):
                if conn.execute("select to_regclass(%s)", [f"ops.{audit}"]).fetchone()[0]:
                    delete = sql.SQL("delete from {} where schema_name like %s")
                    conn.execute(delete.format(sql.Identifier("ops", audit)), [f"{name}%"])


@pytest.fixture(scope="module", autouse=True)
def built(warehouse) -> int:
    """A successful complete build recorded in ops.transform_runs, as of BUILT_AT."""
    return _record_build(BUILT_AT, success=True)


def _record_build(as_of: datetime, success: bool) -> int:
    with server.connect("admin", autocommit=True) as conn:
        ensure_runs_table(conn)
        return conn.execute(
            "insert into ops.transform_runs (command, selector, full_refresh, started_at, finished_at,"
            " success, as_of_at, invoked_by) values ('build', null, false, %s, %s, %s, %s, 'tests')"
            " returning run_id",
            [as_of, as_of, success, as_of],
        ).fetchone()[0]


@contextmanager
def build_recorded(as_of: datetime, success: bool) -> Iterator[int]:
    run_id = _record_build(as_of, success)
    try:
        yield run_id
    finally:
        with server.connect("admin", autocommit=True) as conn:
            conn.execute("delete from ops.transform_runs where run_id = %s", [run_id])


@contextmanager
def incident_added(schema: str, row: tuple, with_row: bool = True) -> Iterator[None]:
    """One more incident (and its message), or with_row=False only its message; removed afterwards."""
    with server.connect("admin", autocommit=True) as conn:
        if with_row:
            _insert_incident(conn, schema, row)
        else:
            _insert_message(conn, schema, row[2], row[7], is_incident=True)
        try:
            yield
        finally:
            for table, column in (
                ("fct_incidents", "incident_id"),
                ("fct_messages_classified", "source_message_key"),
            ):
                conn.execute(
                    sql.SQL("delete from {} where {} = any(%s)").format(
                        sql.Identifier(schema, table), sql.Identifier(column)
                    ),
                    [[row[0], row[2]]],
                )


def _bad(**changes: object) -> tuple:
    """A good incident on DAY (ids inc-bad, vk:wall-1_2) with some fields changed."""
    fields = dict(
        incident_id="inc-bad", platform="vk", key="vk:wall-1_2", category="roads", body="mintrans",
        municipality="krasnodar", importance="normal", published="2026-03-17 09:00",
        detected="2026-03-17 09:05", deadline="2026-03-17 17:00", first_answer=None, final_answer=None,
        status="overdue",
    )  # fmt: skip
    fields.update(changes)
    return tuple(fields.values())


@pytest.fixture
def bad_status_row(schema: str) -> Iterator[None]:
    """One incident with an sla_status outside the contract, removed afterwards."""
    with incident_added(schema, _bad(status="pending")):
        yield


COMPLIANCE_BASE = {
    "body_name_ru": "Орган", "tier": "executive_body", "account_key": "vk:-1", "account_score_pct": 80,
    "body_score_pct": 80, "is_compliant": False, "failed_check_codes": "ACC-07",
    "not_evaluated_check_codes": None, "not_applicable_check_codes": None,
}  # fmt: skip


@pytest.fixture
def compliance_day(schema: str) -> Iterator[psycopg.Connection]:
    """A complete compliance mart for DAY: a row per registered body and required network."""
    table = sql.Identifier(schema, "mart_account_compliance_daily")
    compliance = _suites("account_compliance")
    checks = {f"acc{n:02d}_status": "passed" for n in range(1, len(compliance.check_codes()) + 1)}
    columns = ["compliance_date", "body_code", "platform", *COMPLIANCE_BASE, *checks]
    insert = sql.SQL("insert into {} ({}) values ({})").format(
        table,
        sql.SQL(", ").join(map(sql.Identifier, columns)),
        sql.SQL(", ").join([sql.Placeholder()] * len(columns)),
    )
    with server.connect("admin", autocommit=True) as conn:
        for body in compliance.reference_codes("executive_bodies"):
            for platform in compliance.required_networks():
                conn.execute(insert, [DAY, body, platform, *COMPLIANCE_BASE.values(), *checks.values()])
        try:
            yield conn
        finally:
            conn.execute(sql.SQL("delete from {}").format(table))


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


def test_gate_passes_for_a_day_the_marts_were_built_after(schema: str) -> None:
    result = run_gate(schema, period=report_period("day", DAY))

    assert result.success, result.summary()
    assert result.summary().startswith("gate passed for day 2026-03-17: ")
    with server.connect("admin") as conn:
        recorded = conn.execute(
            "select success, period from ops.gate_runs where schema_name = %s order by run_at desc limit 1",
            [schema],
        ).fetchone()
    assert recorded == (True, "day 2026-03-17")


def _failures_of(result, prefix: str) -> list[str]:
    assert not result.success
    return [failure for failure in result.failures if failure.startswith(prefix)]


def test_incidents_suite_fails_on_a_null_deadline(schema: str) -> None:
    with incident_added(schema, _bad(deadline=None)):
        result = run_gate(schema)

    assert _failures_of(result, "fct_incidents:") == [
        "fct_incidents: expect_column_values_to_not_be_null(deadline_at) — 1 null values"
    ]


def test_incidents_suite_fails_when_the_status_disagrees_with_the_answer(schema: str) -> None:
    answered_after_the_deadline = _bad(first_answer="2026-03-17 18:00", status="answered_on_time")
    with incident_added(schema, answered_after_the_deadline):
        result = run_gate(schema)

    [failure] = _failures_of(result, "fct_incidents:")
    assert failure.startswith(
        "fct_incidents: sla_status agrees with first_answer_at and deadline_at — 1 rows"
    )
    assert "'inc-bad', 'answered_on_time'" in failure


def test_incidents_suite_fails_on_an_incident_message_without_its_row(schema: str) -> None:
    with incident_added(schema, _bad(), with_row=False):
        result = run_gate(schema, period=report_period("day", DAY))

    whole_table = _failures_of(result, "fct_incidents: one incident for each message")
    of_the_day = _failures_of(result, "fct_incidents 2026-03-17: every message published on 2026-03-17")
    assert len(whole_table) == len(of_the_day) == 1
    assert (
        "1 rows, e.g. [('vk:wall-1_2', 'an incident in fct_messages_classified, no row here')]"
        in of_the_day[0]
    )
    assert result.summary().splitlines()[0] == "gate failed for day 2026-03-17:"


def test_reference_codes_are_checked(schema: str) -> None:
    with incident_added(schema, _bad(body="minfake", municipality="atlantis", category="weather")):
        result = run_gate(schema)

    in_set = "fct_incidents: expect_column_values_to_be_in_set"
    assert sorted(_failures_of(result, "fct_incidents:")) == [
        f"{in_set}(category_code) — 1 unexpected values: ['weather']",
        f"{in_set}(municipality_code) — 1 unexpected values: ['atlantis']",
        f"{in_set}(responsible_body_code) — 1 unexpected values: ['minfake']",
    ]


def test_compliance_suite_passes_on_a_complete_day(schema: str, compliance_day: psycopg.Connection) -> None:
    result = run_gate(schema, period=report_period("day", DAY))

    assert result.success, result.summary()


def test_compliance_suite_fails_on_a_bad_row(schema: str, compliance_day: psycopg.Connection) -> None:
    compliance_day.execute(
        sql.SQL(
            "update {} set account_score_pct = 140, acc03_status = 'maybe', body_code = 'minfake'"
            " where body_code = 'minzdrav' and platform = 'ok'"
        ).format(sql.Identifier(schema, "mart_account_compliance_daily"))
    )

    result = run_gate(schema)

    failures = _failures_of(result, "mart_account_compliance_daily:")
    mart = "mart_account_compliance_daily: expect_column_values"
    assert f"{mart}_to_be_between(account_score_pct) — 1 unexpected values: ['140']" in failures
    assert f"{mart}_to_be_in_set(acc03_status) — 1 unexpected values: ['maybe']" in failures
    assert f"{mart}_to_be_in_set(body_code) — 1 unexpected values: ['minfake']" in failures
    [missing] = [f for f in failures if "every registered body has a row" in f]
    assert "1 rows, e.g. [('2026-03-17', 'minzdrav', 'ok')]" in missing


def test_compliance_suite_fails_for_a_day_after_the_mart_ends(
    schema: str, compliance_day: psycopg.Connection
) -> None:
    next_day = report_period("day", date(2026, 3, 18))

    result = run_gate(schema, period=next_day)

    assert _failures_of(result, "mart_account_compliance_daily:") == []  # the whole mart is fine
    [failure] = _failures_of(result, "mart_account_compliance_daily 2026-03-18:")
    assert f"on each day of 2026-03-18 — {_registered_rows_per_day()} rows" in failure


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
    assert str(refused.value).startswith("the quality gate failed for day 2026-03-17:")
    assert list(tmp_path.iterdir()) == []


def test_export_is_refused_when_the_marts_were_built_before_the_period_ended(
    schema: str, tmp_path: Path
) -> None:
    with pytest.raises(GateFailed) as refused:
        export_if_gate_passes("day", STALE_DAY, schema=schema, out_dir=tmp_path, reference_schema=schema)

    [stale] = [line for line in refused.value.result.failures if line.startswith("stale marts")]
    assert stale.startswith(
        "stale marts for day 2026-03-20: a complete `socmon transform` must have succeeded after"
        " 2026-03-21 00:30 MSK (the period's end plus the 30 min extraction lag); the last one is run "
    )
    assert stale.endswith("`dbt build` as of 2026-03-20 03:00 MSK")
    assert list(tmp_path.iterdir()) == []


def test_export_is_refused_after_a_failed_build(schema: str, tmp_path: Path) -> None:
    failed_at = datetime(2026, 3, 20, 4, 0, tzinfo=MOSCOW)
    with build_recorded(failed_at, success=False) as failed_run, pytest.raises(GateFailed) as refused:
        export_if_gate_passes("day", DAY, schema=schema, out_dir=tmp_path, reference_schema=schema)

    assert refused.value.result.failures == [
        "marts possibly half-built for day 2026-03-17: the latest build failed"
        f" (run {failed_run} `dbt build` as of 2026-03-20 04:00 MSK); fix it and run `socmon transform` again"
    ]
    assert list(tmp_path.iterdir()) == []


def test_cli_export_refuses_stale_marts_and_says_why(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SOCMON_OUT_DIR", str(tmp_path))

    code = cli.main(["export", "--period", "day", "--date", STALE_DAY.isoformat()])

    err = capsys.readouterr().err
    assert code == 1
    assert "stale marts for day 2026-03-20" in err
    assert "export refused: the quality gate failed for day 2026-03-20, no file was written" in err
    assert list(tmp_path.iterdir()) == []


# ---- the gate inside socmon_publish (airflow dags test) ----

PUBLISH_DAY_AT = datetime(2026, 3, 18, 9, 0, tzinfo=MOSCOW)  # reports DAY
# the table -> the schema the DAG reads it from (the facts that identify citizens are in casework)
MART_TABLES = {
    "fct_incidents": "casework",
    "fct_messages_classified": "casework",
    "mart_account_compliance_daily": "marts",
}


@pytest.fixture(scope="module")
def publish_env(schema: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The Airflow environment, with the test schema's tables copied where the DAG reads them."""
    with server.connect("admin", autocommit=True) as conn:
        for table, target in MART_TABLES.items():
            conn.execute(
                sql.SQL("create table {} as select * from {}").format(
                    sql.Identifier(target, table), sql.Identifier(schema, table)
                )
            )
            conn.execute(
                sql.SQL("grant select on {} to socmon_officer").format(sql.Identifier(target, table))
            )
        env = airflow_environment()
        ensure_airflow(env)
        try:
            yield env
        finally:
            for table, target in MART_TABLES.items():
                conn.execute(sql.SQL("drop table {}").format(sql.Identifier(target, table)))


def _publish(env: dict[str, str], out_dir: Path, at: datetime = PUBLISH_DAY_AT) -> str:
    # the marts here are copies, not dbt's: its whole-table tests cannot run on them (test_pipeline runs them)
    return dags_test(
        "socmon_publish",
        at,
        {**env, "SOCMON_OUT_DIR": str(out_dir)},
        conf={"whole_table_tests": False},
        log_file=out_dir.parent / "publish.log",
    )


def test_publish_dag_exports_the_day_when_the_gate_passes(
    publish_env: dict[str, str], tmp_path: Path
) -> None:
    _publish(publish_env, tmp_path / "out")

    assert sorted(p.name for p in (tmp_path / "out" / "2026-03-17").iterdir()) == [
        "socmon_incidents_2026-03-17.csv",
        "socmon_incidents_2026-03-17.xlsx",
        "socmon_report_2026-03-17.html",
    ]


def test_publish_dag_writes_nothing_when_the_gate_fails(publish_env: dict[str, str], tmp_path: Path) -> None:
    with incident_added("casework", _bad(status="pending")), pytest.raises(DagRunFailed) as failed:
        _publish(publish_env, tmp_path / "out")

    assert not (tmp_path / "out").exists()
    assert "socmon_publish" in str(failed.value)
    log = (tmp_path / "publish.log").read_text()
    assert (
        "fct_incidents: expect_column_values_to_be_in_set(sla_status) — 1 unexpected values: ['pending']"
        in log
    )


def test_publish_dag_refuses_a_day_the_marts_were_not_built_after(
    publish_env: dict[str, str], tmp_path: Path
) -> None:
    with pytest.raises(DagRunFailed) as failed:  # reports the 20th; the marts are as of 03:00 that day
        _publish(publish_env, tmp_path / "out", at=datetime(2026, 3, 21, 9, 0, tzinfo=MOSCOW))

    assert "socmon_publish" in str(failed.value)
    log = (tmp_path / "publish.log").read_text()
    assert "stale marts for day 2026-03-20" in log and "the last one is run" in log
    assert not (tmp_path / "out").exists()


# ---- the exports ----


def test_day_export_writes_three_files(schema: str, tmp_path: Path) -> None:  # the gate passes
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
