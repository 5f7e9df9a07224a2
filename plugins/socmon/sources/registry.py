"""The registry of what socmon reads: `dbt_project/seeds/registry/*.csv`.

The same files are dbt seeds, so the extractors and the marts always agree on the sources and the
official accounts. Edit them and the next run picks the change up.
"""

from __future__ import annotations

import csv
from pathlib import Path

from socmon.config import settings
from socmon.sources.base import Source


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
        )
        for row in _rows("official_accounts.csv", registry_dir)
    ]


def due_sources(platform: str | None = None, registry_dir: Path | None = None) -> list[Source]:
    sources = monitored_communities(registry_dir) + official_accounts(registry_dir)
    return [s for s in sources if platform in (None, s.platform)]


def print_sources() -> None:
    from socmon.warehouse import server
    from socmon.warehouse.cursors import read_cursors

    with server.connect("loader") as conn:
        for source in due_sources():
            cursors = read_cursors(conn, source.source_id)
            state = ", ".join(f"{m}={c}" for m, c in cursors.items()) or "never read"
            print(f"{source.source_id:<16} {source.kind:<17} {source.name_ru}  [{state}]")
