"""Retention of citizens' personal data: the daily `socmon_retention` DAG.

Raw payloads (every version) and quarantined records older than the retention period (default 365
days, SOCMON_RETENTION_DAYS) are deleted; in the tables dbt keeps incrementally (intermediate and
casework), the texts, links and author ids of the messages published before the same cut-off are
cleared, so the incidents keep their non-personal facts (category, body, municipality, dates, SLA) and
BI's marts keep counting them. The next incremental builds leave those rows as they are; a full refresh
rebuilds only what raw still holds.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from psycopg import sql

from socmon.config import settings
from socmon.warehouse import server

log = logging.getLogger(__name__)

RAW_MESSAGE_TABLES = ("vk_posts", "vk_comments", "ok_topics", "ok_comments", "telegram_messages")
KEPT_SCHEMAS = ("intermediate", "casework")
PERSONAL_COLUMNS = ("message_text", "message_url", "author_id", "normalized_text", "duplicate_text_key")


def retention_days() -> int:
    return settings().retention_days


@dataclass
class Expired:
    cutoff: datetime
    rows: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        done = ", ".join(f"{table} {count}" for table, count in sorted(self.rows.items())) or "nothing"
        return f"personal data older than {self.cutoff:%Y-%m-%d %H:%M %Z} removed or cleared: {done}"


def expire_personal_data(days: int | None = None, now: datetime | None = None) -> Expired:
    cutoff = (now or datetime.now(UTC)) - timedelta(days=days or retention_days())
    expired = Expired(cutoff)
    touched: list[str] = []
    with server.connect("admin", autocommit=True) as conn:
        with conn.transaction():
            for table in RAW_MESSAGE_TABLES:
                deleted = conn.execute(
                    sql.SQL("delete from {} where loaded_at < %s").format(sql.Identifier("raw", table)),
                    [cutoff],
                ).rowcount
                _count(expired, f"raw.{table}", deleted, touched)
            deleted = conn.execute(
                "delete from raw.vk_deleted_posts where detected_at < %s", [cutoff]
            ).rowcount
            _count(expired, "raw.vk_deleted_posts", deleted, touched)
            deleted = conn.execute("delete from raw.rejected where rejected_at < %s", [cutoff]).rowcount
            _count(expired, "raw.rejected", deleted, touched)
            for schema, table, columns in _personal_columns(conn):
                cleared = conn.execute(
                    sql.SQL("update {} set {} where published_at < %s and ({})").format(
                        sql.Identifier(schema, table),
                        sql.SQL(", ").join(sql.SQL("{} = null").format(sql.Identifier(c)) for c in columns),
                        sql.SQL(" or ").join(
                            sql.SQL("{} is not null").format(sql.Identifier(c)) for c in columns
                        ),
                    ),
                    [cutoff],
                ).rowcount
                _count(expired, f"{schema}.{table}", cleared, touched)
        for table in sorted(set(touched)):  # no dead tuple keeps the data on disk
            conn.execute(sql.SQL("vacuum full {}").format(sql.Identifier(*table.split("."))))
    log.info("%s", expired.summary())
    return expired


def _personal_columns(conn) -> list[tuple[str, str, list[str]]]:
    """Tables dbt keeps (not views) with a publication time and nullable personal columns."""
    rows = conn.execute(
        """
        select c.table_schema, c.table_name, array_agg(c.column_name::text order by c.column_name)
        from information_schema.columns as c
        join information_schema.tables as t using (table_schema, table_name)
        where t.table_type = 'BASE TABLE' and c.table_schema = any(%s)
            and c.column_name = any(%s) and c.is_nullable = 'YES'
            and exists (
                select 1 from information_schema.columns as p
                where p.table_schema = c.table_schema and p.table_name = c.table_name
                    and p.column_name = 'published_at'
            )
        group by 1, 2 order by 1, 2
        """,
        [list(KEPT_SCHEMAS), list(PERSONAL_COLUMNS)],
    ).fetchall()
    return [(schema, table, list(columns)) for schema, table, columns in rows]


def _count(expired: Expired, table: str, count: int, touched: list[str]) -> None:
    if count:
        expired.rows[table] = expired.rows.get(table, 0) + count
        touched.append(table)
