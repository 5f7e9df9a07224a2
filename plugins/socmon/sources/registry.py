"""The registry of what socmon reads: `dbt_project/seeds/registry/*.csv`.

The same files are dbt seeds, so the extractors and the marts always agree on the sources and the
official accounts. Edit them and the next run picks the change up.
"""

from __future__ import annotations

import csv
import logging
from pathlib import Path

from socmon.config import settings
from socmon.sources.base import Source

log = logging.getLogger(__name__)

SEARCHABLE_PLATFORMS = ("vk", "telegram")
"""OK offers applications no search of groups' topics: its rows in search_queries.csv are skipped."""


def _rows(name: str, registry_dir: Path | None = None) -> list[dict[str, str]]:
    path = (registry_dir or settings().registry_dir) / name
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def monitored_communities(registry_dir: Path | None = None) -> list[Source]:
    return [
        Source(
            source_id=row["source_id"],
            platform=row["platform"],
            kind="community",
            external_id=row["source_id"].split(":", 1)[1],
            name_ru=row["name_ru"],
            municipality_code=row["municipality_code"] or None,
            screen_name=row.get("screen_name") or None,
        )
        for row in _rows("monitored_communities.csv", registry_dir)
    ]


def official_accounts(registry_dir: Path | None = None) -> list[Source]:
    return [
        Source(
            source_id=row["account_key"],
            platform=row["platform"],
            kind="official_account",
            external_id=row["account_key"].split(":", 1)[1],
            name_ru=row["name_ru"],
            body_code=row["body_code"],
            screen_name=row.get("screen_name") or None,
        )
        for row in _rows("official_accounts.csv", registry_dir)
    ]


def search_queries(registry_dir: Path | None = None) -> list[Source]:
    """The active keyword searches, each a source of its own (`<platform>:search:<query>`, kind `query`,
    the query text as `external_id`): its own cursor, its own errors."""
    queries = []
    for row in _rows("search_queries.csv", registry_dir):
        if row["is_active"].strip().lower() != "true":
            continue
        if row["platform"] not in SEARCHABLE_PLATFORMS:
            log.warning("search %r skipped: %s cannot be searched", row["query_ru"], row["platform"])
            continue
        queries.append(
            Source(
                source_id=f"{row['platform']}:search:{row['query_ru']}",
                platform=row["platform"],
                kind="query",
                external_id=row["query_ru"],
                name_ru=f"Поиск «{row['query_ru']}»",
            )
        )
    return queries


def due_sources(platform: str | None = None, registry_dir: Path | None = None) -> list[Source]:
    """Every source of a run: the walls and channels first (a message both on a wall and found by a search
    is then loaded from the wall), the searches last."""
    sources = [
        *monitored_communities(registry_dir),
        *official_accounts(registry_dir),
        *search_queries(registry_dir),
    ]
    return [s for s in sources if platform in (None, s.platform)]


def due_source_batches(platform: str, per_task: int | None = None) -> list[list[dict]]:
    """The platform's sources in batches, one batch per mapped extraction task: `per_task` sources each,
    by default SOCMON_SOURCES_PER_TASK or 50 (smaller batches spread a cycle over more workers)."""
    if per_task is None:
        per_task = settings().sources_per_task
    sources = [source.as_dict() for source in due_sources(platform)]
    return [sources[i : i + per_task] for i in range(0, len(sources), per_task)]


def print_sources() -> None:
    """`socmon sources list`: each source with its cursors, last success and last error; then the daily
    limits in force (the quota state of each token)."""
    from socmon.constants import MOSCOW
    from socmon.sources.quota import quota_stops_in_force
    from socmon.warehouse import server

    with server.connect("loader") as conn:
        rows = conn.execute(
            "select source_id, method, cursor, last_success_at, last_error, last_error_at"
            " from raw.source_cursors order by source_id, method"
        ).fetchall()
        stops = quota_stops_in_force(conn)
    state: dict[str, list[str]] = {}
    for source_id, method, cursor, success_at, error, error_at in rows:
        line = f"    {method}: cursor {cursor or '-'}"
        if success_at:
            line += f", last success {success_at:%Y-%m-%d %H:%M}"
        if error:
            line += f", last error {error_at:%Y-%m-%d %H:%M}: {error}"
        state.setdefault(source_id, []).append(line)
    for source in due_sources():
        print(f"{source.source_id:<14} {source.kind:<17} {source.name_ru}")
        print("\n".join(state.get(source.source_id, ["    never read"])))
    print("\nquota: " + ("daily limits in force" if stops else "no daily limit in force"))
    for platform, fingerprint, method, until, reason in stops:
        lifts = until.astimezone(MOSCOW)
        print(
            f"    {platform} token {fingerprint}: {method} stopped until {lifts:%Y-%m-%d %H:%M} MSK: {reason}"
        )
