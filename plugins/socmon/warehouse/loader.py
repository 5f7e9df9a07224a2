"""Bulk load of API payloads into `raw`, exactly as the APIs returned them.

Each batch is COPYed into a temporary table and inserted with ON CONFLICT DO NOTHING on
(object key, payload hash), so loading the same payload again adds nothing and an edited object
arrives as a new version. A record that cannot be stored goes to `raw.rejected` with its reason; the
rest of the batch still loads.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

import msgspec
import psycopg
from psycopg import sql

from socmon.garbage_collector import garbage_collector_paused
from socmon.warehouse.record_checks import RECORD_SPECS, BadRecord, RecordSpec

MAX_PAYLOAD_BYTES = 512 * 1024  # VK's own limit on a post is 16,384 characters
MAX_NESTING_DEPTH = 64  # API objects nest a dozen levels; Postgres' JSON parser recurses on each level
MAX_REJECTED_TEXT_CHARS = 64 * 1024  # what raw.rejected keeps of a record: enough to read and repair it
DIRECT_COPY_MIN_ROWS = 1000  # bulk loads try COPY straight into raw; re-read pages go through ON CONFLICT
COPY_CHUNK_ROWS = 250  # rows checked per write to a running COPY (~200 KB): Postgres inserts while we check
_ESCAPED_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")  # \u0000 in JSON, not an escaped backslash


log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Entity:
    """One raw table: the platform it holds, its key columns, and what it demands of a record
    (record_checks.py, one table per platform)."""

    table: str
    platform: str
    key_columns: tuple[str, ...]
    spec: RecordSpec

    def key_of(self, payload: dict) -> tuple[Any, ...]:
        """The record's key, once every field staging casts has passed its check (else BadRecord)."""
        return self.spec.check(payload)


ENTITIES: dict[str, Entity] = {
    e.table: e
    for e in (
        Entity("vk_posts", "vk", ("owner_id", "post_id"), RECORD_SPECS["vk_posts"]),
        Entity("vk_comments", "vk", ("owner_id", "post_id", "comment_id"), RECORD_SPECS["vk_comments"]),
        Entity("vk_groups", "vk", ("group_id",), RECORD_SPECS["vk_groups"]),
        Entity("vk_deleted_posts", "vk", ("owner_id", "post_id"), RECORD_SPECS["vk_deleted_posts"]),
        Entity("telegram_messages", "telegram", ("peer_id", "message_id"), RECORD_SPECS["telegram_messages"]),
        Entity("telegram_channels", "telegram", ("channel_id",), RECORD_SPECS["telegram_channels"]),
        Entity("ok_topics", "ok", ("group_id", "topic_id"), RECORD_SPECS["ok_topics"]),
        Entity("ok_comments", "ok", ("topic_id", "comment_id"), RECORD_SPECS["ok_comments"]),
        Entity("ok_groups", "ok", ("group_id",), RECORD_SPECS["ok_groups"]),
    )
}

RAW_STATE_TABLES = ("rejected", "source_cursors", "quota_stops")  # the quarantine and the extraction state


def empty_raw(conn: psycopg.Connection) -> None:
    """Empty every table of `raw`: for tests, evaluations and benchmarks on databases of their own."""
    conn.execute("truncate " + ", ".join(f"raw.{table}" for table in (*ENTITIES, *RAW_STATE_TABLES)))


@dataclass
class LoadResult:
    loaded: int = 0
    duplicates: int = 0
    rejected: int = 0

    def __add__(self, other: LoadResult) -> LoadResult:
        return LoadResult(
            self.loaded + other.loaded, self.duplicates + other.duplicates, self.rejected + other.rejected
        )


@dataclass(frozen=True)
class Rejection:
    reason: str
    raw_text: str


class Prepared(NamedTuple):  # a named tuple: one per record, and a frozen dataclass costs twice as much
    key: tuple[Any, ...]
    payload: bytes  # canonical JSON, UTF-8
    payload_hash: str


_canonical_encoder = msgspec.json.Encoder(order="sorted")


def canonical_json(payload: dict) -> bytes:
    """Sorted keys, no whitespace, UTF-8: the same payload always gives the same bytes and hash."""
    return _canonical_encoder.encode(payload)


def prepare(record: Any, entity: Entity) -> Prepared | Rejection:
    """Check one record: its key, canonical payload and hash, or the reason it cannot be stored.
    Never raises: whatever a record holds, the worst it gets is a reason."""
    if isinstance(record, bytes):
        try:
            record = record.decode("utf-8")
        except UnicodeDecodeError as exc:
            return Rejection(f"invalid UTF-8 at byte {exc.start}", _as_text(record))
    try:
        payload = msgspec.json.decode(record) if isinstance(record, str) else record
    except msgspec.DecodeError as exc:
        if "surrogate" in str(exc):
            return Rejection(f"invalid Unicode: lone surrogate ({exc})", record)
        return Rejection(f"not JSON: {exc}", record)
    except RecursionError:
        return Rejection(f"nested deeper than {MAX_NESTING_DEPTH} levels", record)
    except UnicodeEncodeError:
        return Rejection("invalid UTF-8 (undecodable bytes in the text)", record)
    except ValueError as exc:  # an integer of more than 4,300 digits
        return Rejection(f"not storable: {exc}", record)
    if not isinstance(payload, dict):
        return Rejection(f"not a JSON object but {type(payload).__name__}", _as_text(record))
    try:
        encoded = canonical_json(payload)
        brackets = encoded.count(b"{") + encoded.count(b"[")  # a cheap bound on the depth
        if brackets > MAX_NESTING_DEPTH and _nested_deeper_than(payload, MAX_NESTING_DEPTH):
            raise BadRecord(f"nested deeper than {MAX_NESTING_DEPTH} levels")
        key = entity.key_of(payload)
    except BadRecord as exc:
        return Rejection(str(exc), _as_text(record))
    except RecursionError:
        return Rejection(f"nested deeper than {MAX_NESTING_DEPTH} levels", _as_text(record))
    except UnicodeEncodeError as exc:
        return Rejection(f"invalid Unicode: lone surrogate ({exc.reason})", _as_text(record))
    except (TypeError, ValueError, msgspec.EncodeError) as exc:
        return Rejection(f"not JSON-serialisable: {type(exc).__name__}: {exc}", _as_text(record))
    except Exception as exc:  # a check that did not foresee this record: still a reason, not a crash
        return Rejection(f"cannot be checked: {type(exc).__name__}: {exc}", _as_text(record))
    if b"\\u0000" in encoded and _ESCAPED_NUL.search(encoded.decode("utf-8")):
        return Rejection("NUL character in the payload (Postgres text cannot hold it)", _as_text(record))
    if len(encoded) > MAX_PAYLOAD_BYTES:
        return Rejection(
            f"payload of {len(encoded)} bytes exceeds the {MAX_PAYLOAD_BYTES}-byte limit", _as_text(record)
        )
    return Prepared(key, encoded, hashlib.md5(encoded).hexdigest())


def _nested_deeper_than(payload: dict, limit: int) -> bool:
    """Whether any container lies more than `limit` levels down, without recursion (a payload thousands
    of levels deep must give a reason, not a RecursionError). Only containers are visited."""
    level: list[Any] = [payload]
    for _ in range(limit):
        level = [
            child
            for container in level
            for child in (container.values() if isinstance(container, dict) else container)
            if isinstance(child, dict | list)
        ]
        if not level:
            return False
    return True


def _as_text(record: Any) -> str:
    """The record as text for raw.rejected, whatever it holds (bytes, a structure too deep to print)."""
    if isinstance(record, str):
        return record
    if isinstance(record, bytes):
        return record.decode("utf-8", "backslashreplace")
    try:
        return json.dumps(record, ensure_ascii=False, default=str)
    except (RecursionError, ValueError, TypeError) as exc:
        return f"<a {type(record).__name__} that cannot be shown as JSON: {type(exc).__name__}>"


def _safe_text(text: str, limit: int | None = None) -> str:
    """What Postgres can store of a rejected record: no NUL, no lone surrogates, at most `limit` chars."""
    if limit is not None and len(text) > limit:
        text = text[:limit] + f"… [{len(text) - limit} more characters]"
    return text.replace("\x00", "\\u0000").encode("utf-8", "backslashreplace").decode("utf-8")


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_field(value: object) -> bytes:
    if isinstance(value, int):
        return b"%d" % value
    return str(value).translate(_COPY_ESCAPES).encode("utf-8")


def _copy_line(row: Prepared, tail: bytes) -> bytes:
    """One row in COPY's text format. Canonical JSON holds no raw tab or newline: only its backslashes
    need doubling, which keeps this fast."""
    keys = b"\t".join(map(_copy_field, row.key))
    return b"%s\t%s\t%s\t%s\n" % (keys, row.payload.replace(b"\\", b"\\\\"), row.payload_hash.encode(), tail)


class _Batch:
    """A batch's records, checked as they are read: the unique rows (by key and payload hash) with their
    COPY lines, and the rejections. Reading is lazy so that the COPY of the first rows runs in Postgres
    while the next ones are checked here: the checks cost about a quarter of what Postgres spends on a
    row, and overlapped on the second core they cost no time (issue 14: 0.68 of psql COPY before)."""

    def __init__(self, entity: Entity, records: Iterable[Any], tail: bytes) -> None:
        self.entity = entity
        self.unique: dict[tuple[Any, ...], Prepared] = {}
        self.lines: list[bytes] = []
        self.rejections: list[Rejection] = []
        self.offered = 0
        self._records = iter(records)
        self._tail = tail

    def read(self, count: int | None = None) -> bytes:
        """Check up to `count` more new rows (all the rest when None); their COPY lines, joined."""
        start = len(self.lines)
        with garbage_collector_paused:
            self._read(count)
        return b"".join(self.lines[start:])

    def _read(self, count: int | None) -> None:
        start = len(self.lines)
        for record in self._records:
            prepared = prepare(record, self.entity)
            if isinstance(prepared, Rejection):
                self.rejections.append(prepared)
                continue
            self.offered += 1
            identity = (*prepared.key, prepared.payload_hash)
            if identity in self.unique:
                continue
            self.unique[identity] = prepared
            self.lines.append(_copy_line(prepared, self._tail))
            if count is not None and len(self.lines) - start >= count:
                break


def load_records(
    conn: psycopg.Connection, table: str, records: Iterable[Any], source_id: str, load_id: str
) -> LoadResult:
    """Load records into raw.<table> inside the caller's transaction."""
    entity = ENTITIES[table]
    batch = _Batch(entity, records, _copy_field(source_id) + b"\t" + _copy_field(load_id))
    result = LoadResult()
    try:
        with conn.transaction():  # a savepoint: a row Postgres refuses after all cannot take the batch
            result.loaded = _copy_new_rows(conn, batch)
    except (psycopg.errors.DataError, psycopg.errors.ProgramLimitExceeded) as exc:
        log.warning("raw.%s refused a row of the batch (%s): loading row by row", entity.table, exc)
        batch.read()
        result.loaded, refused = _insert_row_by_row(
            conn, entity, list(batch.unique.values()), source_id, load_id
        )
        batch.offered -= len(refused)
        batch.rejections.extend(refused)
    result.duplicates = batch.offered - result.loaded
    result.rejected = len(batch.rejections)
    if batch.rejections:
        record_rejections(conn, entity, batch.rejections, source_id, load_id)
    return result


def _copy_new_rows(conn: psycopg.Connection, batch: _Batch) -> int:
    """COPY straight into raw, the fast path for new data, streamed as the rows are checked; if raw holds
    some of the rows already (a re-read, or a concurrent load), COPY them to a temporary table and
    INSERT ... ON CONFLICT DO NOTHING."""
    entity = batch.entity
    columns = sql.SQL(", ").join(
        map(sql.Identifier, [*entity.key_columns, "payload", "payload_hash", "source_id", "load_id"])
    )
    first = batch.read(DIRECT_COPY_MIN_ROWS)
    if len(batch.lines) >= DIRECT_COPY_MIN_ROWS:
        try:
            statement = sql.SQL("copy raw.{} ({}) from stdin").format(sql.Identifier(entity.table), columns)
            with conn.transaction(), conn.cursor() as cur, cur.copy(statement) as copy:
                copy.write(first)
                while chunk := batch.read(COPY_CHUNK_ROWS):
                    copy.write(chunk)
            return len(batch.lines)
        except psycopg.errors.UniqueViolation:
            log.debug("raw.%s holds some of the rows already: inserting the new ones", entity.table)
    batch.read()
    if not batch.lines:
        return 0
    incoming = sql.Identifier(f"incoming_{entity.table}")
    with conn.cursor() as cur:
        cur.execute(
            sql.SQL(
                "create temp table if not exists {} (like raw.{} including defaults) on commit drop"
            ).format(incoming, sql.Identifier(entity.table))
        )
        cur.execute(sql.SQL("truncate {}").format(incoming))
        with cur.copy(sql.SQL("copy {} ({}) from stdin").format(incoming, columns)) as copy:
            copy.write(b"".join(batch.lines))
        cur.execute(
            sql.SQL("insert into raw.{} ({cols}) select {cols} from {} on conflict do nothing").format(
                sql.Identifier(entity.table), incoming, cols=columns
            )
        )
        return cur.rowcount


def _insert_row_by_row(
    conn: psycopg.Connection, entity: Entity, rows: list[Prepared], source_id: str, load_id: str
) -> tuple[int, list[Rejection]]:
    """The slow path after Postgres refused a batch: each row in its own savepoint, and the rows it
    still refuses quarantined with its message. Only for what the checks did not foresee."""
    statement = sql.SQL(
        "insert into raw.{} ({}, payload, payload_hash, source_id, load_id)"
        " values ({}, %s::jsonb, %s, %s, %s) on conflict do nothing"
    ).format(
        sql.Identifier(entity.table),
        sql.SQL(", ").join(map(sql.Identifier, entity.key_columns)),
        sql.SQL(", ").join(sql.Placeholder() * len(entity.key_columns)),
    )
    loaded, refused = 0, []
    for row in rows:
        payload_text = row.payload.decode("utf-8")
        try:
            with conn.transaction(), conn.cursor() as cur:
                cur.execute(statement, (*row.key, payload_text, row.payload_hash, source_id, load_id))
                loaded += cur.rowcount
        except (psycopg.errors.DataError, psycopg.errors.ProgramLimitExceeded) as exc:
            refused.append(Rejection(f"refused by Postgres: {exc.diag.message_primary}", payload_text))
    return loaded, refused


def record_rejections(
    conn: psycopg.Connection, entity: Entity, rejections: list[Rejection], source_id: str, load_id: str
) -> None:
    rows = []
    for rejection in rejections:
        text = _safe_text(rejection.raw_text, MAX_REJECTED_TEXT_CHARS)
        digest = hashlib.md5(_safe_text(rejection.raw_text).encode("utf-8")).hexdigest()
        rows.append((entity.platform, entity.table, source_id, rejection.reason, text, digest, load_id))
    with conn.cursor() as cur:
        cur.executemany(
            "insert into raw.rejected (platform, entity, source_id, reason, raw_text, raw_hash, load_id)"
            " values (%s, %s, %s, %s, %s, %s, %s) on conflict do nothing",
            rows,
        )
