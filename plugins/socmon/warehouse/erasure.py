"""`socmon forget`: erase one citizen (or one message) from the warehouse and the reports (152-FZ art. 21).

Removes every version of the person's messages from raw, their quarantined records from raw.rejected,
every row derived from them in intermediate, casework, marts and snapshots (incremental tables too),
and the report files under out/ that show them; then VACUUM FULL rewrites the tables it touched, so no
dead tuple keeps the data on disk. The request is recorded in ops.erasure_requests: who asked, when,
their reference, how many rows and files were removed, and a keyed pseudonym of what was erased (never
the id itself, nor any of the removed data).

What it cannot reach: Postgres's WAL and any backup taken before (they age out with their retention),
and the networks themselves: a message still public is read again by the next extraction.
"""

from __future__ import annotations

import getpass
import html
import json
import logging
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

from socmon.config import settings
from socmon.warehouse import server

log = logging.getLogger(__name__)

PLATFORMS = ("vk", "ok", "telegram")

# Each raw table of messages: the columns that name one object (all its versions share them), and
# the author id in its payload.
RAW_MESSAGES = {
    "vk": {
        "vk_posts": (("owner_id", "post_id"), "payload ->> 'from_id'"),
        "vk_comments": (("owner_id", "comment_id"), "payload ->> 'from_id'"),
    },
    "ok": {
        "ok_topics": (("group_id", "topic_id"), "split_part(payload ->> 'author_ref', ':', 2)"),
        "ok_comments": (("topic_id", "comment_id"), "payload ->> 'author_id'"),
    },
    "telegram": {
        "telegram_messages": (
            ("peer_id", "message_id"),
            "coalesce(payload -> 'from_id' ->> 'user_id', payload -> 'from_id' ->> 'channel_id',"
            " payload -> 'from_id' ->> 'chat_id')",
        ),
    },
}
# The staging view of each raw table: it gives each object's message key.
STAGING_VIEWS = {
    "vk_posts": "stg_vk__posts",
    "vk_comments": "stg_vk__comments",
    "ok_topics": "stg_ok__topics",
    "ok_comments": "stg_ok__comments",
    "telegram_messages": "stg_telegram__messages",
}
# How an author id appears in a record the loader quarantined (raw.rejected keeps the raw text).
REJECTED_AUTHOR_FIELDS = {
    "vk": ['"from_id":\\s*{id}\\b'],
    "ok": ['"author_id":\\s*"?{id}\\b', '"author_ref":\\s*"user:{id}"'],
    "telegram": ['"user_id":\\s*{id}\\b'],
}
DERIVED_SCHEMAS = ("intermediate", "casework", "marts", "snapshots")
KEY_COLUMNS = ("source_message_key", "incident_message_key")
KEY_ARRAY_COLUMNS = ("source_message_keys",)

CREATE_AUDIT_TABLE = """
create table if not exists ops.erasure_requests (
    request_id        bigint generated always as identity primary key,
    requested_at      timestamptz not null default now(),
    finished_at       timestamptz,
    requested_by      text        not null,
    reference         text,
    platform          text        not null,
    erased            text        not null check (erased in ('author', 'message')),
    erased_pseudonym  text        not null,
    rows_removed      jsonb       not null default '{}',
    files_removed     integer     not null default 0
)
"""


@dataclass
class Erasure:
    """What one request removed (counts only)."""

    request_id: int
    rows_removed: dict[str, int] = field(default_factory=dict)
    files_removed: list[str] = field(default_factory=list)

    def summary(self) -> str:
        rows = sum(self.rows_removed.values())
        return (
            f"erasure request {self.request_id}: {rows} rows removed from {len(self.rows_removed)} tables, "
            f"{len(self.files_removed)} report files removed"
        )


def forget(
    platform: str,
    author_id: str | None = None,
    message_key: str | None = None,
    requested_by: str | None = None,
    reference: str | None = None,
) -> Erasure:
    if platform not in PLATFORMS:
        raise ValueError(f"unknown platform {platform!r}")
    if bool(author_id) == bool(message_key):
        raise ValueError("name either the author (--author-id) or one message (--message-key)")
    if author_id and not str(author_id).lstrip("-").isdigit():
        raise ValueError(f"an author id is a number, not {author_id!r}")
    erased, subject = ("author", str(author_id)) if author_id else ("message", str(message_key))
    with server.connect("admin", autocommit=True) as conn:
        conn.execute(CREATE_AUDIT_TABLE)
        conn.execute("revoke all on ops.erasure_requests from public")
        request_id = conn.execute(
            "insert into ops.erasure_requests (requested_by, reference, platform, erased, erased_pseudonym)"
            " values (%s, %s, %s, %s, ops.pseudonym(%s, %s)) returning request_id",
            [requested_by or getpass.getuser(), reference, platform, erased, f"erasure:{platform}", subject],
        ).fetchall()[0][0]
        result = Erasure(request_id)
        with conn.transaction():
            keys, urls, texts = _messages(conn, platform, author_id, message_key)
            touched = _erase_raw(conn, platform, author_id, keys, result)
            touched += _erase_derived(conn, platform, author_id, keys, result)
        for table in sorted(set(touched)):
            conn.execute(sql.SQL("vacuum full {}").format(sql.Identifier(*table.split("."))))
        result.files_removed = _erase_reports(keys | urls, texts)
        conn.execute(
            "update ops.erasure_requests set finished_at = now(), rows_removed = %s, files_removed = %s"
            " where request_id = %s",
            [json.dumps(result.rows_removed), len(result.files_removed), request_id],
        )
    log.info("%s", result.summary())
    return result


def _messages(
    conn: psycopg.Connection, platform: str, author_id: str | None, message_key: str | None
) -> tuple[set[str], set[str], set[str]]:
    """The message keys to erase, their links and texts (to find them in the reports)."""
    column, value = ("author_id", author_id) if author_id else ("source_message_key", message_key)
    where, params = f"platform = %s and {column} = %s", [platform, str(value)]
    keys: set[str] = set()
    urls: set[str] = set()
    texts: set[str] = set()
    if _exists(conn, "intermediate", "int_messages_unioned"):
        query = "select source_message_key, message_url, message_text from intermediate.int_messages_unioned"
        for key, url, text in conn.execute(query + " where " + where, params):
            keys.add(key)
            if url:
                urls.add(url)
            if text and len(text.strip()) >= 20:
                texts.add(" ".join(text.split())[:60])
    if message_key:
        keys.add(message_key)
    return keys, urls, texts


def _erase_raw(
    conn: psycopg.Connection, platform: str, author_id: str | None, keys: set[str], result: Erasure
) -> list[str]:
    touched: list[str] = []
    for table, (object_columns, author) in RAW_MESSAGES[platform].items():
        objects = sql.SQL(", ").join(map(sql.Identifier, object_columns))
        by_key = sql.SQL("select {objects} from {view} where source_message_key = any(%s)").format(
            objects=objects, view=sql.Identifier("staging", STAGING_VIEWS[table])
        )
        selectors = [by_key] if _exists(conn, "staging", STAGING_VIEWS[table]) else []
        params: list = [list(keys)] if selectors else []
        if author_id:
            selectors.append(
                sql.SQL("select {objects} from {raw} where {author} = %s").format(
                    objects=objects, raw=sql.Identifier("raw", table), author=sql.SQL(author)
                )
            )
            params.append(author_id)
        if not selectors:
            continue
        deleted = conn.execute(
            sql.SQL("delete from {raw} where ({objects}) in ({selected})").format(
                raw=sql.Identifier("raw", table), objects=objects, selected=sql.SQL(" union ").join(selectors)
            ),
            params,
        ).rowcount
        _count(result, f"raw.{table}", deleted, touched)
        if table == "vk_posts":  # the marks of its deleted posts
            deleted = conn.execute(
                "delete from raw.vk_deleted_posts where ('vk:wall' || owner_id || '_' || post_id) = any(%s)",
                [list(keys)],
            ).rowcount
            _count(result, "raw.vk_deleted_posts", deleted, touched)
    if author_id:
        patterns = [p.format(id=re.escape(author_id)) for p in REJECTED_AUTHOR_FIELDS[platform]]
        deleted = conn.execute(
            "delete from raw.rejected where platform = %s and raw_text ~ any(%s)", [platform, patterns]
        ).rowcount
        _count(result, "raw.rejected", deleted, touched)
    return touched


def _erase_derived(
    conn: psycopg.Connection, platform: str, author_id: str | None, keys: set[str], result: Erasure
) -> list[str]:
    """Rows of the person's messages in every table dbt built (views follow their tables)."""
    touched: list[str] = []
    tables = conn.execute(
        "select table_schema, table_name from information_schema.tables"
        " where table_type = 'BASE TABLE' and table_schema = any(%s) order by 1, 2",
        [list(DERIVED_SCHEMAS)],
    ).fetchall()
    incident_ids = [_md5(key) for key in keys]
    for schema, table in tables:
        columns = {
            name
            for (name,) in conn.execute(
                "select column_name from information_schema.columns"
                " where table_schema = %s and table_name = %s",
                [schema, table],
            )
        }
        conditions: list[sql.Composable] = []
        params: list[object] = []
        for column in KEY_COLUMNS:
            if column in columns:
                conditions.append(sql.SQL("{} = any(%s)").format(sql.Identifier(column)))
                params.append(list(keys))
        for column in KEY_ARRAY_COLUMNS:
            if column in columns:
                conditions.append(sql.SQL("{} && %s::text[]").format(sql.Identifier(column)))
                params.append(list(keys))
        if "incident_id" in columns and not columns & set(KEY_COLUMNS):
            conditions.append(sql.SQL("incident_id = any(%s)"))
            params.append(incident_ids)
        if author_id and {"platform", "author_id"} <= columns:
            conditions.append(sql.SQL("(platform = %s and author_id::text = %s)"))
            params += [platform, author_id]
        if not conditions:
            continue
        deleted = conn.execute(
            sql.SQL("delete from {} where {}").format(
                sql.Identifier(schema, table), sql.SQL(" or ").join(conditions)
            ),
            params,
        ).rowcount
        _count(result, f"{schema}.{table}", deleted, touched)
    return touched


def _erase_reports(needles: set[str], texts: set[str]) -> list[str]:
    """Remove the report files under out/ that show any of the messages (their key, link or text)."""
    out = settings().out_dir
    if not out.exists() or not (needles or texts):
        return []
    wanted = {variant for needle in needles | texts for variant in (needle, html.escape(needle))}
    removed = []
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        if any(needle in _readable_text(path) for needle in wanted):
            path.unlink()
            removed.append(str(path.relative_to(out)))
    return removed


def _readable_text(path: Path) -> str:
    if path.suffix == ".xlsx":
        with zipfile.ZipFile(path) as book:
            return "\n".join(book.read(name).decode("utf-8", "replace") for name in book.namelist())
    text = path.read_bytes().decode("utf-8", "replace")
    return " ".join(text.split()) + "\n" + text


def _count(result: Erasure, table: str, deleted: int, touched: list[str]) -> None:
    if deleted:
        result.rows_removed[table] = result.rows_removed.get(table, 0) + deleted
        touched.append(table)


def _exists(conn: psycopg.Connection, schema: str, relation: str) -> bool:
    return bool(conn.execute("select to_regclass(%s) is not null", [f"{schema}.{relation}"]).fetchall()[0][0])


def _md5(text: str) -> str:
    import hashlib

    return hashlib.md5(text.encode()).hexdigest()
