"""`socmon quarantine list`: the records left out of the warehouse, and why.

Two quarantines, one list, newest first:
- `loader`: records the loader refused (`raw.rejected`): not JSON, a field that does not fit, a damaged
  file's tail. They never reached raw; the text kept is what to repair and load again.
- `staging`: rows in raw that staging cannot type (`staging.stg_quarantined_rows`), e.g. loaded by an
  older loader or inserted by hand: left out of the staging views and so of the marts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg

EXCERPT_CHARS = 160

_LOADER_QUERY = """
    select rejected_at, 'loader', platform, entity, source_id, reason, left(raw_text, %(excerpt)s)
    from raw.rejected
    where rejected_at >= coalesce(%(since)s::timestamptz, '-infinity')
"""
_STAGING_QUERY = """
    select loaded_at, 'staging', platform, raw_table, source_id, reason, object_key
    from staging.stg_quarantined_rows
    where loaded_at >= coalesce(%(since)s::timestamptz, '-infinity')
"""


@dataclass(frozen=True)
class QuarantinedRecord:
    at: datetime  # rejected (loader) or loaded into raw (staging)
    stage: str  # 'loader' or 'staging'
    platform: str
    entity: str  # the raw table
    source_id: str
    reason: str
    excerpt: str  # the start of the record's text (loader), or its object key (staging)


def quarantined_records(conn: psycopg.Connection, since: datetime | None = None) -> list[QuarantinedRecord]:
    """Both quarantines, newest first. Staging's is there once `socmon transform` has built it."""
    staged = conn.execute("select to_regclass('staging.stg_quarantined_rows') is not null").fetchall()[0][0]
    query = _LOADER_QUERY + (f" union all {_STAGING_QUERY}" if staged else "") + " order by 1 desc, 6"
    params = {"since": since, "excerpt": EXCERPT_CHARS}
    return [QuarantinedRecord(*row) for row in conn.execute(query, params)]


READER_ROLE = "transform"  # the one role that reads both: raw.rejected (as raw's reader) and staging


def print_quarantine(since: datetime | None = None) -> None:
    from socmon.warehouse import server

    with server.connect(READER_ROLE) as conn:
        records = quarantined_records(conn, since)
    for record in records:
        excerpt = " ".join(record.excerpt.split())
        print(
            f"{record.at:%Y-%m-%d %H:%M:%S%z}  {record.stage:<7}  {record.platform}/{record.entity}"
            f"  {record.source_id}: {record.reason}"
        )
        print(f"    {excerpt[:EXCERPT_CHARS]}")
    loader = sum(r.stage == "loader" for r in records)
    period = f" since {since.isoformat()}" if since else ""
    print(f"{loader} rejected by the loader, {len(records) - loader} left out by staging{period}")
