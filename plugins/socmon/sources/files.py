"""`socmon ingest`: API responses saved as files, loaded exactly like extracted ones.

- VK: the JSON body of wall.get, newsfeed.search, wall.getComments or groups.getById;
- Telegram: JSON lines, one message each, as Telethon's `Message.to_json()` writes them;
- OK: the JSON body of mediatopic.getTopics, discussions.getComments or group.getInfo. A
  discussions.getComments body does not say which topic it belongs to: give it with `topic_id`
  (`socmon ingest --platform ok --topic-id 155...`), or its comments are quarantined.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from socmon.warehouse import server
from socmon.warehouse.loader import LoadResult, load_records

log = logging.getLogger(__name__)


class UnknownFileFormat(ValueError):
    pass


def _raw_items(text: str, array_start: int) -> list[str]:
    """The items of a JSON array as raw text, so that one broken item cannot hide the others."""
    decoder = json.JSONDecoder()
    items: list[str] = []
    pos = array_start + 1
    while True:
        while pos < len(text) and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= len(text) or text[pos] == "]":
            return items
        try:
            _, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError:
            end = _skip_to_next_item(text, pos)
        items.append(text[pos:end])
        pos = end


def _skip_to_next_item(text: str, pos: int) -> int:
    depth, in_string, escaped = 0, False, False
    for i in range(pos, len(text)):
        ch = text[i]
        if in_string:
            escaped = ch == "\\" and not escaped
            if ch == '"' and not escaped:
                in_string = False
            continue
        if ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            if depth == 0:
                return i
            depth -= 1
        elif ch == "," and depth == 0:
            return i
    return len(text)


def vk_batches(body: Any, text: str) -> Iterator[tuple[str, list[Any]]]:
    """Raw tables and items of a VK response body; `body` is None when the file is not valid JSON."""
    response = body.get("response", body) if isinstance(body, dict) else body
    if isinstance(response, dict) and "groups" in response:  # groups.getById, API 5.199
        yield "vk_groups", response["groups"]
        return
    if isinstance(response, list):  # groups.getById, older API versions
        yield "vk_groups", response
        return
    items_key = text.find('"items"')
    if items_key < 0:
        raise UnknownFileFormat("not a VK wall.get, newsfeed.search, wall.getComments or groups.getById body")
    items = _raw_items(text, text.find("[", items_key))
    parsed = [_parsed_or_none(raw) for raw in items]
    if '"current_level_count"' in text or any(isinstance(p, dict) and "post_id" in p for p in parsed):
        comments: list[Any] = []
        for raw, item in zip(items, parsed, strict=True):
            comments.append(raw)
            if isinstance(item, dict):
                comments.extend((item.get("thread") or {}).get("items") or [])
        yield "vk_comments", comments
    else:
        yield "vk_posts", items


def _parsed_or_none(raw: str) -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return None


def _read_batches(path: Path, platform: str, topic_id: int | None) -> Iterator[tuple[str, list[Any]]]:
    text = path.read_text(encoding="utf-8", errors="surrogateescape")
    if platform == "telegram":
        yield "telegram_messages", [line for line in text.splitlines() if line.strip()]
        return
    try:
        body = json.loads(text)
    except json.JSONDecodeError:
        body = None
    if platform == "vk":
        yield from vk_batches(body, text)
    else:
        from socmon.sources.ok import ok_batches

        if body is None:
            raise UnknownFileFormat(f"{path}: not JSON")
        yield from ok_batches(body, topic_id=topic_id)


def ingest_files(paths: list[Path], platform: str, *, topic_id: int | None = None) -> LoadResult:
    """Load each file in its own transaction; `topic_id` is the OK topic of discussions.getComments files."""
    if topic_id is not None and platform != "ok":
        raise ValueError("a topic id only applies to OK discussions.getComments files")
    total = LoadResult()
    with server.connect("loader") as conn:
        for path in paths:
            load_id = f"file:{path.name}#{uuid.uuid4().hex[:8]}"
            with conn.transaction():
                for table, records in _read_batches(path, platform, topic_id):
                    result = load_records(conn, table, records, f"file:{path.name}", load_id)
                    log.info("%s → raw.%s: %s", path, table, result)
                    total += result
    return total
