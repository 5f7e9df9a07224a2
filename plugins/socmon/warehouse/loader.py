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
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import msgspec
import psycopg
from psycopg import sql

MAX_PAYLOAD_BYTES = 512 * 1024  # VK's own limit on a post is 16,384 characters
DIRECT_COPY_MIN_ROWS = 1000  # bulk loads try COPY straight into raw; re-read pages go through ON CONFLICT
_ESCAPED_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")  # \u0000 in JSON, not an escaped backslash


log = logging.getLogger(__name__)


class BadRecord(ValueError):
    """A record that cannot be stored; the message is the reason recorded in raw.rejected."""


def _integer(payload: dict, field: str) -> int:
    if field not in payload or payload[field] is None:
        raise BadRecord(f"missing field '{field}'")
    value = payload[field]
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRecord(f"field '{field}' should be an integer, got {type(value).__name__}: {value!r:.40}")
    return value


def _telegram_peer_id(payload: dict) -> int:
    peer = payload.get("peer_id")
    if not isinstance(peer, dict):
        raise BadRecord("missing field 'peer_id'")
    for field in ("channel_id", "chat_id", "user_id"):
        if field in peer:
            return _integer(peer, field)
    raise BadRecord("field 'peer_id' names no channel, chat or user")


def _text_field(payload: dict, field: str = "text") -> None:
    if field in payload and not isinstance(payload[field], str):
        raise BadRecord(f"field '{field}' should be a string, got {type(payload[field]).__name__}")


@dataclass(frozen=True)
class Entity:
    """One raw table: the platform it holds and how to read the object key from a payload."""

    table: str
    platform: str
    key_columns: tuple[str, ...]
    key_of: Callable[[dict], tuple[Any, ...]]


def _vk_post_key(p: dict) -> tuple[int, int]:
    _text_field(p)
    return _integer(p, "owner_id"), _integer(p, "id")


def _vk_comment_key(p: dict) -> tuple[int, int, int]:
    _text_field(p)
    return _integer(p, "owner_id"), _integer(p, "post_id"), _integer(p, "id")


def _ok_comment_key(p: dict) -> tuple[int, str]:
    _text_field(p)
    if not isinstance(p.get("id"), str | int) or p.get("id") in ("", None):
        raise BadRecord("missing field 'id'")
    return _integer(p, "topic_id"), str(p["id"])


def _ok_topic_key(p: dict) -> tuple[int, int]:
    return int(_numeric_string(p, "group_id")), int(_numeric_string(p, "id"))


def _numeric_string(p: dict, field: str) -> str:
    value = p.get(field)
    if value is None:
        raise BadRecord(f"missing field '{field}'")
    if not str(value).lstrip("-").isdigit():
        raise BadRecord(f"field '{field}' should be numeric, got {value!r:.40}")
    return str(value)


ENTITIES: dict[str, Entity] = {
    e.table: e
    for e in (
        Entity("vk_posts", "vk", ("owner_id", "post_id"), _vk_post_key),
        Entity("vk_comments", "vk", ("owner_id", "post_id", "comment_id"), _vk_comment_key),
        Entity("vk_groups", "vk", ("group_id",), lambda p: (_integer(p, "id"),)),
        Entity(
            "vk_deleted_posts",
            "vk",
            ("owner_id", "post_id"),
            lambda p: (_integer(p, "owner_id"), _integer(p, "post_id")),
        ),
        Entity(
            "telegram_messages",
            "telegram",
            ("peer_id", "message_id"),
            lambda p: (_telegram_peer_id(p), _integer(p, "id")),
        ),
        Entity("telegram_channels", "telegram", ("channel_id",), lambda p: (_integer(p, "id"),)),
        Entity("ok_topics", "ok", ("group_id", "topic_id"), _ok_topic_key),
        Entity("ok_comments", "ok", ("topic_id", "comment_id"), _ok_comment_key),
        Entity("ok_groups", "ok", ("group_id",), lambda p: (int(_numeric_string(p, "uid")),)),
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


@dataclass(frozen=True)
class Prepared:
    key: tuple[Any, ...]
    payload: bytes  # canonical JSON, UTF-8
    payload_hash: str


_canonical_encoder = msgspec.json.Encoder(order="sorted")


def canonical_json(payload: dict) -> bytes:
    """Sorted keys, no whitespace, UTF-8: the same payload always gives the same bytes and hash."""
    return _canonical_encoder.encode(payload)


def prepare(record: Any, entity: Entity) -> Prepared | Rejection:
    """Check one record: its key, canonical payload and hash, or the reason it cannot be stored."""
    try:
        payload = json.loads(record) if isinstance(record, str) else record
    except json.JSONDecodeError as exc:
        return Rejection(f"not JSON: {exc.msg} at character {exc.pos}", record)
    if not isinstance(payload, dict):
        return Rejection(f"not a JSON object but {type(payload).__name__}", _as_text(record))
    try:
        key = entity.key_of(payload)
        encoded = canonical_json(payload)
    except BadRecord as exc:
        return Rejection(str(exc), _as_text(record))
    except UnicodeEncodeError as exc:
        return Rejection(f"invalid Unicode: lone surrogate ({exc.reason})", _as_text(record))
    except (TypeError, msgspec.EncodeError) as exc:
        return Rejection(f"not JSON-serialisable: {exc}", _as_text(record))
    if b"\\u0000" in encoded and _ESCAPED_NUL.search(encoded.decode("utf-8")):
        return Rejection("NUL character in the payload (Postgres text cannot hold it)", _as_text(record))
    if len(encoded) > MAX_PAYLOAD_BYTES:
        return Rejection(
            f"payload of {len(encoded)} bytes exceeds the {MAX_PAYLOAD_BYTES}-byte limit", _as_text(record)
        )
    return Prepared(key, encoded, hashlib.md5(encoded).hexdigest())


def _as_text(record: Any) -> str:
    return record if isinstance(record, str) else json.dumps(record, ensure_ascii=False, default=str)


def _safe_text(text: str) -> str:
    """What Postgres can store of a rejected record: no NUL, no lone surrogates."""
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


def load_records(
    conn: psycopg.Connection, table: str, records: Iterable[Any], source_id: str, load_id: str
) -> LoadResult:
    """Load records into raw.<table> inside the caller's transaction."""
    entity = ENTITIES[table]
    unique: dict[tuple[Any, ...], Prepared] = {}
    rejections: list[Rejection] = []
    offered = 0
    for record in records:
        prepared = prepare(record, entity)
        if isinstance(prepared, Rejection):
            rejections.append(prepared)
        else:
            offered += 1
            unique.setdefault((*prepared.key, prepared.payload_hash), prepared)

    result = LoadResult(rejected=len(rejections))
    if unique:
        result.loaded = _copy_new_rows(conn, entity, list(unique.values()), source_id, load_id)
    result.duplicates = offered - result.loaded
    if rejections:
        _record_rejections(conn, entity, rejections, source_id, load_id)
    return result


def _copy_new_rows(
    conn: psycopg.Connection, entity: Entity, rows: list[Prepared], source_id: str, load_id: str
) -> int:
    """COPY straight into raw, the fast path for new data; if raw holds some of the rows already (a
    re-read, or a concurrent load), COPY them to a temporary table and INSERT ... ON CONFLICT DO NOTHING."""
    columns = sql.SQL(", ").join(
        map(sql.Identifier, [*entity.key_columns, "payload", "payload_hash", "source_id", "load_id"])
    )
    tail = _copy_field(source_id) + b"\t" + _copy_field(load_id)
    data = b"".join([_copy_line(row, tail) for row in rows])
    if len(rows) >= DIRECT_COPY_MIN_ROWS:
        try:
            with conn.transaction(), conn.cursor() as cur:
                statement = sql.SQL("copy raw.{} ({}) from stdin").format(
                    sql.Identifier(entity.table), columns
                )
                with cur.copy(statement) as copy:
                    copy.write(data)
            return len(rows)
        except psycopg.errors.UniqueViolation:
            log.debug(
                "raw.%s holds some of the %d rows already: inserting the new ones", entity.table, len(rows)
            )
    incoming = sql.Identifier(f"incoming_{entity.table}")
    with conn.cursor() as cur:
        cur.execute(
            sql.SQL(
                "create temp table if not exists {} (like raw.{} including defaults) on commit drop"
            ).format(incoming, sql.Identifier(entity.table))
        )
        cur.execute(sql.SQL("truncate {}").format(incoming))
        with cur.copy(sql.SQL("copy {} ({}) from stdin").format(incoming, columns)) as copy:
            copy.write(data)
        cur.execute(
            sql.SQL("insert into raw.{} ({cols}) select {cols} from {} on conflict do nothing").format(
                sql.Identifier(entity.table), incoming, cols=columns
            )
        )
        return cur.rowcount


def _record_rejections(
    conn: psycopg.Connection, entity: Entity, rejections: list[Rejection], source_id: str, load_id: str
) -> None:
    rows = []
    for rejection in rejections:
        text = _safe_text(rejection.raw_text)
        digest = hashlib.md5(text.encode("utf-8")).hexdigest()
        rows.append((entity.platform, entity.table, source_id, rejection.reason, text, digest, load_id))
    with conn.cursor() as cur:
        cur.executemany(
            "insert into raw.rejected (platform, entity, source_id, reason, raw_text, raw_hash, load_id)"
            " values (%s, %s, %s, %s, %s, %s, %s) on conflict do nothing",
            rows,
        )
