"""Reads the incidents of a period (casework.fct_incidents), the compliance marts, and the Russian names
of their codes, as the officers' role."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from socmon.period import ReportPeriod
from socmon.reports import labels_ru
from socmon.reports.casework import READER_ROLE
from socmon.reports.model import AccountCompliance, AccountFailure, Incident
from socmon.warehouse import server
from socmon.warehouse.roles import casework_schema

INCIDENT_COLUMNS = (
    "incident_id",
    "platform",
    "message_url",
    "source_message_key",
    "category_code",
    "responsible_body_code",
    "municipality_code",
    "importance",
    "published_at",
    "detected_at",
    "deadline_at",
    "first_answer_at",
    "final_answer_at",
    "sla_status",
    "rule_version",
)


def fetch_incidents(
    period: ReportPeriod, schema: str = "marts", reference_schema: str = "staging"
) -> list[Incident]:
    """Incidents published within the period (Moscow time), oldest first.

    Names come from `<schema>.dim_executive_bodies`, `<schema>.dim_municipalities` and
    `<reference_schema>.categories`; a missing table or code falls back to the code itself.
    """
    query = sql.SQL(
        "select {columns} from {table} where published_at >= %s and published_at < %s"
        " order by published_at, incident_id"
    ).format(
        columns=sql.SQL(", ").join(map(sql.Identifier, INCIDENT_COLUMNS)),
        table=sql.Identifier(casework_schema(schema), "fct_incidents"),
    )
    with server.connect(READER_ROLE) as conn:
        bodies = _names(conn, schema, "dim_executive_bodies")
        municipalities = _names(conn, schema, "dim_municipalities")
        categories = _names(conn, reference_schema, "categories")
        with conn.cursor(row_factory=dict_row) as cursor:
            rows = cursor.execute(query, [period.starts_at, period.ends_at]).fetchall()
    return [_incident(row, bodies, categories, municipalities) for row in rows]


def _names(conn: psycopg.Connection, schema: str, table: str) -> dict[str, str]:
    exists = conn.execute(
        "select 1 from information_schema.tables where table_schema = %s and table_name = %s",
        [schema, table],
    ).fetchone()
    if not exists:
        return {}
    query = sql.SQL("select code, name_ru from {}").format(sql.Identifier(schema, table))
    return {code: name for code, name in conn.execute(query) if code and name}


def _incident(
    row: dict[str, Any], bodies: dict[str, str], categories: dict[str, str], municipalities: dict[str, str]
) -> Incident:
    body = row["responsible_body_code"]
    category = row["category_code"]
    municipality = row["municipality_code"]
    return Incident(
        incident_id=row["incident_id"],
        platform=row["platform"],
        message_url=row["message_url"],
        source_message_key=row["source_message_key"],
        category_code=category,
        category_name=categories.get(category, category) if category else labels_ru.UNKNOWN,
        body_code=body,
        body_name=bodies.get(body, body) if body else labels_ru.UNKNOWN_BODY,
        municipality_code=municipality,
        municipality_name=municipalities.get(municipality, municipality)
        if municipality
        else labels_ru.UNKNOWN,
        importance=row["importance"],
        published_at=row["published_at"],
        detected_at=row["detected_at"],
        deadline_at=row["deadline_at"],
        first_answer_at=row["first_answer_at"],
        final_answer_at=row["final_answer_at"],
        sla_status=row["sla_status"],
        rule_version=row["rule_version"],
    )


COMPLIANCE_TABLE = "mart_account_compliance_daily"
CHECK_COLUMNS = tuple(f"acc{number:02d}" for number in range(1, 11))
ACCOUNT_COLUMNS = (
    "body_code",
    "body_name_ru",
    "platform",
    "account_key",
    "screen_name",
    "account_score_pct",
    "body_score_pct",
    *(f"{check}_{part}" for check in CHECK_COLUMNS for part in ("status", "explanation_ru")),
)
DAY_SHOWN = (
    "select coalesce(max(compliance_date) filter (where compliance_date <= %s), min(compliance_date)) from {}"
)


def fetch_account_compliance(
    period: ReportPeriod, schema: str = "marts", reference_schema: str = "staging"
) -> AccountCompliance:
    """The failed checks of the official accounts on the period's last day in the compliance mart.

    When the mart has no day up to the period's end (a backfill read the metadata later), its first day
    is shown; the sheet says which day. Failures are ordered by body name, network (VK, OK, Telegram) and
    check; check names come from `<reference_schema>.compliance_checks`.
    """
    table = sql.Identifier(schema, COMPLIANCE_TABLE)
    with server.connect(READER_ROLE) as conn:
        if not _table_exists(conn, schema, COMPLIANCE_TABLE):
            return AccountCompliance(day=None)
        found = conn.execute(sql.SQL(DAY_SHOWN).format(table), [period.last_day]).fetchone()
        day = found[0] if found else None
        if day is None:
            return AccountCompliance(day=None)
        check_names = _check_names(conn, reference_schema)
        query = sql.SQL("select {} from {} where compliance_date = %s and failed_check_count > 0").format(
            sql.SQL(", ").join(map(sql.Identifier, ACCOUNT_COLUMNS)), table
        )
        with conn.cursor(row_factory=dict_row) as cursor:
            rows = cursor.execute(query, [day]).fetchall()
    networks = list(labels_ru.PLATFORM)
    rows.sort(key=lambda row: (row["body_name_ru"] or row["body_code"], _position(networks, row["platform"])))
    failures = [
        AccountFailure(
            body_code=row["body_code"],
            body_name=row["body_name_ru"] or row["body_code"],
            platform=row["platform"],
            account_key=row["account_key"],
            screen_name=row["screen_name"],
            check_code=_code(check),
            check_name=check_names.get(_code(check), _code(check)),
            explanation=row[f"{check}_explanation_ru"] or "",
            account_score_pct=_float(row["account_score_pct"]),
            body_score_pct=_float(row["body_score_pct"]),
        )
        for row in rows
        for check in CHECK_COLUMNS
        if row[f"{check}_status"] == "failed"
    ]
    return AccountCompliance(day=day, failures=tuple(failures))


def _table_exists(conn: psycopg.Connection, schema: str, table: str) -> bool:
    found = conn.execute(
        "select 1 from information_schema.tables where table_schema = %s and table_name = %s",
        [schema, table],
    ).fetchone()
    return found is not None


def _check_names(conn: psycopg.Connection, schema: str) -> dict[str, str]:
    if not _table_exists(conn, schema, "compliance_checks"):
        return {}
    query = sql.SQL("select code, name_ru from {}").format(sql.Identifier(schema, "compliance_checks"))
    return {code: name for code, name in conn.execute(query) if code and name}


def _position(values: list[str], value: str) -> int:
    return values.index(value) if value in values else len(values)


def _code(check_column: str) -> str:
    """acc03 -> ACC-03."""
    return f"ACC-{check_column[3:]}"


def _float(value: Any) -> float | None:
    return float(value) if value is not None else None
