"""The incidents with the citizen's text and link, as the officers and a body's curators read them.

The facts that identify a citizen (text, link, message key, thread) live in `casework.fct_incidents`
and `casework.fct_messages_classified`, which the officers' role reads; the marts beside them hold the
same facts for BI without them. Every report reads as `socmon_officer`, never as the owner.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from psycopg import sql
from psycopg.rows import dict_row

from socmon.reports import labels_ru
from socmon.warehouse import server
from socmon.warehouse.roles import MARTS_SCHEMA, casework_schema

READER_ROLE = "officer"
EXCERPT_CHARS = 300


@dataclass(frozen=True)
class CaseIncident:
    """One incident as a curator sees it: what was written, where, by when it must be answered."""

    incident_id: str
    body_code: str | None
    body_name: str
    category_name: str
    municipality_name: str
    importance: str
    message_url: str | None
    excerpt: str
    published_at: datetime
    detected_at: datetime
    deadline_at: datetime | None
    first_answer_at: datetime | None
    sla_status: str
    rule_version: str | None

    @property
    def is_overdue(self) -> bool:
        return self.sla_status == "overdue"

    @property
    def status_text(self) -> str:
        return labels_ru.STATUS.get(self.sla_status, self.sla_status)

    @property
    def importance_text(self) -> str:
        return labels_ru.IMPORTANCE.get(self.importance, self.importance)


CASE_QUERY = """
select
    i.incident_id,
    i.responsible_body_code,
    coalesce(b.name_ru, i.responsible_body_code) as body_name,
    coalesce(c.name_ru, i.category_code)         as category_name,
    coalesce(m.name_ru, i.municipality_code)     as municipality_name,
    i.importance,
    i.message_url,
    i.message_text,
    i.published_at,
    i.detected_at,
    i.deadline_at,
    i.first_answer_at,
    i.sla_status,
    i.rule_version
from {incidents} as i
left join {bodies} as b on b.code = i.responsible_body_code
left join {municipalities} as m on m.code = i.municipality_code
left join {categories} as c on c.code = i.category_code
where {condition}
order by (i.sla_status = 'overdue') desc, i.deadline_at nulls last, i.published_at, i.incident_id
"""


def fetch_case_incidents(
    condition: str,
    params: dict[str, object],
    schema: str = MARTS_SCHEMA,
    reference_schema: str = "staging",
) -> list[CaseIncident]:
    """The incidents matching `condition` (SQL over alias `i`, with %(name)s parameters), overdue first.

    Every reader of incident texts (the bodies' lists, the alerts) goes through here.
    """
    query = sql.SQL(CASE_QUERY).format(
        incidents=sql.Identifier(casework_schema(schema), "fct_incidents"),
        bodies=sql.Identifier(schema, "dim_executive_bodies"),
        municipalities=sql.Identifier(schema, "dim_municipalities"),
        categories=sql.Identifier(reference_schema, "categories"),
        condition=sql.SQL(condition),  # type: ignore[arg-type]  # callers pass constant SQL
    )
    with server.connect(READER_ROLE) as conn, conn.cursor(row_factory=dict_row) as cursor:
        rows = cursor.execute(query, params).fetchall()
    return [
        CaseIncident(
            incident_id=row["incident_id"],
            body_code=row["responsible_body_code"],
            body_name=row["body_name"] or labels_ru.UNKNOWN_BODY,
            category_name=row["category_name"] or labels_ru.UNKNOWN,
            municipality_name=row["municipality_name"] or labels_ru.UNKNOWN,
            importance=row["importance"],
            message_url=row["message_url"],
            excerpt=excerpt(row["message_text"]),
            published_at=row["published_at"],
            detected_at=row["detected_at"],
            deadline_at=row["deadline_at"],
            first_answer_at=row["first_answer_at"],
            sla_status=row["sla_status"],
            rule_version=row["rule_version"],
        )
        for row in rows
    ]


def excerpt(text: str | None, limit: int = EXCERPT_CHARS) -> str:
    """The text on one line, cut at a word boundary with «…» when longer than `limit`."""
    flat = " ".join((text or "").split())
    if len(flat) <= limit:
        return flat
    cut = flat[:limit].rsplit(" ", 1)[0]
    return cut + "…"
