"""Reads the incidents of a period from the marts, and the Russian names of their codes."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from socmon.reports import labels_ru
from socmon.reports.model import Incident
from socmon.reports.period import ReportPeriod
from socmon.warehouse import server

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
        table=sql.Identifier(schema, "fct_incidents"),
    )
    with server.connect("admin") as conn:
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
