"""Extraction: every registered source read from its cursor into `raw`.

`extract_into_raw` is what the Airflow task and `socmon extract` both call. Each batch commits with
its cursor in one transaction, so a run killed at any point and re-run loses and duplicates nothing.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from socmon.constants import MOSCOW, PLATFORMS
from socmon.sources.base import Extractor, Source, SourceDeferred
from socmon.sources.quota import restore_quota_stops, save_quota_stops
from socmon.warehouse import server
from socmon.warehouse.cursors import read_cursors, read_open_threads, record_error, save_cursor
from socmon.warehouse.loader import LoadResult, load_records

log = logging.getLogger(__name__)


def extract_into_raw(source: Source, since: datetime, until: datetime, extractor: Extractor) -> LoadResult:
    load_id = f"{source.source_id}@{until.isoformat()}#{uuid.uuid4().hex[:8]}"
    total = LoadResult()
    with server.connect("loader") as conn:
        cursors = read_cursors(conn, source.source_id)
        open_threads = read_open_threads(conn, source.source_id)
        conn.commit()
        try:
            for batch in extractor.extract(source, since, until, cursors, open_threads):
                with conn.transaction():
                    total += load_records(conn, batch.table, batch.records, source.source_id, load_id)
                    if batch.method and batch.cursor is not None:
                        save_cursor(conn, source.source_id, batch.method, batch.cursor)
                    for method, reason in batch.errors.items():  # recorded, and the run goes on
                        record_error(conn, source.source_id, method, reason)
        except Exception as exc:
            conn.rollback()
            with conn.transaction():
                record_error(conn, source.source_id, "extract", f"{type(exc).__name__}: {exc}")
            raise
    log.info(
        "%s: %d new, %d already loaded, %d rejected",
        source.source_id,
        total.loaded,
        total.duplicates,
        total.rejected,
    )
    return total


def extract_batch_into_raw(
    sources: list[dict], since: datetime, until: datetime, extractor: Extractor
) -> dict[str, int]:
    """Extract each source of a batch; one source's failure is recorded and does not stop the others.

    Raises at the end if any source failed, so that Airflow retries the task (already-loaded
    sources then add nothing).
    """
    total, failed = LoadResult(), []
    token_pool = extractor.token_pool  # VK: daily limits met by earlier runs still hold
    if token_pool is not None:
        with server.connect("loader") as conn:
            for stop in restore_quota_stops(conn, extractor.platform, token_pool):
                lifts_at = datetime.fromtimestamp(stop.until, MOSCOW).isoformat()
                log.warning("a token is off %s until %s: %s", stop.method, lifts_at, stop.reason)
    # e.g. VK reads the first wall page of 25 sources in one request
    extractor.prefetch([Source.from_dict(data) for data in sources], since, until)
    try:
        for position, data in enumerate(sources):
            source = Source.from_dict(data)
            try:
                total += extract_into_raw(source, since, until, extractor)
            except SourceDeferred as deferred:  # the platform's limit binds the whole account: stop here
                rest = [s["source_id"] for s in sources[position:]]
                log.warning(
                    "%s; deferring %d sources to the next run: %s", deferred, len(rest), ", ".join(rest)
                )
                break
            except Exception:
                log.exception("%s failed", source.source_id)
                failed.append(source.source_id)
    finally:
        if token_pool is not None:
            with server.connect("loader") as conn:
                save_quota_stops(conn, extractor.platform, token_pool)
    if failed:
        raise RuntimeError(f"{len(failed)} of {len(sources)} sources failed: {', '.join(failed)}")
    return vars(total)


def extract_all(platform: str | None, since: datetime, until: datetime) -> LoadResult:
    from socmon.sources.factory import extractor_from_env
    from socmon.sources.registry import due_sources

    total = LoadResult()
    for name in [platform] if platform else PLATFORMS:
        sources = [s.as_dict() for s in due_sources(name)]
        if sources:
            total += LoadResult(**extract_batch_into_raw(sources, since, until, extractor_from_env(name)))
    return total
