"""`socmon ingest`: API responses saved as files, loaded exactly like extracted ones.

- VK: the JSON body of wall.get, newsfeed.search, wall.getComments or groups.getById;
- Telegram: JSON lines, one message each, as Telethon's `Message.to_json()` writes them;
- OK: the JSON body of mediatopic.getTopics, discussions.getComments or group.getInfo. A
  discussions.getComments body does not say which topic it belongs to: give it with `topic_id`
  (`socmon ingest --platform ok --topic-id 155...`), or its comments are quarantined.

A file is read forward, one list item at a time, in bounded memory whatever its size: a few megabytes
of text at once and one batch of items for the loader. Every item goes through the loader's checks;
a malformed item is quarantined and the reading goes on after it. A file that is damaged beyond one item
(truncated, or broken outside its list) loads what precedes the damage, and the damaged tail is
quarantined with its byte offset: `ingest_files` then reports it, and `socmon ingest` exits with 1.
"""

from __future__ import annotations

import codecs
import json
import logging
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import psycopg

from socmon.sources.ok import with_group_id, with_topic_id
from socmon.warehouse import server
from socmon.warehouse.loader import ENTITIES, LoadResult, Rejection, load_records, record_rejections

log = logging.getLogger(__name__)

CHUNK_BYTES = 1 << 20  # read a MiB at a time
MAX_ITEM_CHARS = 16 << 20  # an item longer than this is damage (the loader stores at most 512 KiB)
BATCH_ITEMS = 5_000  # items handed to the loader at once
TAIL_SHOWN_CHARS = 64 * 1024  # what raw.rejected keeps of a damaged tail
PROGRESS_EVERY_BYTES = 256 << 20


class UnknownFileFormat(ValueError):
    pass


@dataclass
class FileDamage:
    """Where a file stops making sense: what precedes it is loaded, the tail from `offset` is not."""

    path: Path
    offset: int
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: damaged at byte {self.offset} ({self.reason}); the rest was quarantined"


@dataclass
class IngestResult(LoadResult):
    damaged: list[FileDamage] = field(default_factory=list)

    def __add__(self, other: LoadResult) -> IngestResult:
        total = LoadResult.__add__(self, other)
        return IngestResult(total.loaded, total.duplicates, total.rejected, self.damaged)


class _Damaged(Exception):
    def __init__(self, offset: int, reason: str) -> None:
        super().__init__(reason)
        self.offset, self.reason = offset, reason


@dataclass(frozen=True)
class Element:
    """One list item: its text exactly as in the file, and its value when it parses (else why not)."""

    text: str
    value: Any = None
    error: str | None = None

    @property
    def raw(self) -> bytes:
        """The item's bytes, invalid UTF-8 included: the loader gives them a reason of their own."""
        return self.text.encode("utf-8", "surrogateescape")


# ---- reading JSON forward, one value at a time ----

_NOT_SPACE = re.compile(r"[^ \t\r\n]")
_NOT_SPACE_OR_COMMA = re.compile(r"[^ \t\r\n,]")
_decoder = json.JSONDecoder(parse_constant=lambda name: _raise(ValueError(f"{name} is not JSON")))


def _raise(exc: Exception) -> Any:
    raise exc


class _JsonStream:
    """A file read forward a chunk at a time as text, with the byte offset of the reading position."""

    def __init__(self, file: BinaryIO) -> None:
        self._file = file
        self._utf8 = codecs.getincrementaldecoder("utf-8")("surrogateescape")
        self._text = ""
        self._pos = 0
        self._base = 0  # byte offset of self._text[0]
        self._eof = False

    # -- the buffer --

    def _read_more(self) -> bool:
        if self._eof:
            return False
        if self._pos > CHUNK_BYTES:  # drop what was consumed
            self._base += len(self._text[: self._pos].encode("utf-8", "surrogateescape"))
            self._text, self._pos = self._text[self._pos :], 0
        chunk = self._file.read(CHUNK_BYTES)
        self._eof = not chunk
        self._text += self._utf8.decode(chunk, final=self._eof)
        return not self._eof or self._pos < len(self._text)

    def offset(self) -> int:
        return self._base + len(self._text[: self._pos].encode("utf-8", "surrogateescape"))

    def tail(self) -> str:
        """The text from the reading position on, up to what raw.rejected keeps of it."""
        while len(self._text) - self._pos < TAIL_SHOWN_CHARS and self._read_more():
            pass
        return self._text[self._pos : self._pos + TAIL_SHOWN_CHARS]

    # -- tokens --

    def peek(self, and_commas: bool = False) -> str:
        """The next character that is not white space (nor a comma), not consumed; '' at the end."""
        significant = _NOT_SPACE_OR_COMMA if and_commas else _NOT_SPACE
        while True:
            found = significant.search(self._text, self._pos)
            if found:
                self._pos = found.start()
                return self._text[self._pos]
            self._pos = len(self._text)
            if not self._read_more():
                return ""

    def expect(self, char: str) -> None:
        if self.peek() != char:
            found = self.peek() or "the end of the file"
            raise _Damaged(self.offset(), f"expected '{char}', found {found!r:.20}")
        self._pos += 1

    def value(self) -> Element:
        """The next JSON value. A malformed one is skipped to its end and returned with its error; a value
        whose end cannot be found (a truncated file) is damage. The reading position stays at the value's
        start until it is read, so offset() gives the damage's byte offset (counted only then: it costs)."""
        while True:
            text, pos = self._text, self._pos
            try:
                value, end = _decoder.raw_decode(text, pos)
                if end < len(text) or self._eof:
                    self._pos = end
                    return Element(text[pos:end], value)
                error = None  # a number may go on in the next chunk: read more to be sure
            except json.JSONDecodeError as exc:
                error = f"not JSON: {exc.msg}"
            except RecursionError:
                error = "nested too deeply to parse"
            except ValueError as exc:  # an integer of more than 4,300 digits, NaN
                error = f"not JSON: {exc}"
            skipped_to = _end_of_value(text, pos) if error else None
            if skipped_to is not None:
                self._pos = skipped_to
                return Element(text[pos:skipped_to], error=error)
            if len(text) - pos > MAX_ITEM_CHARS:
                reason = f"an item longer than {MAX_ITEM_CHARS} characters, or never closed"
                raise _Damaged(self.offset(), reason)
            if not self._read_more():
                raise _Damaged(self.offset(), "the file ends inside an item: truncated")

    def string(self) -> str:
        element = self.value()
        if not isinstance(element.value, str):
            raise _Damaged(self.offset(), f"expected an object key, found {element.text!r:.30}")
        return element.value

    def elements(self) -> Iterator[Element]:
        """The items of the list that starts here."""
        self.expect("[")
        while True:
            char = self.peek(and_commas=True)
            if char == "]":
                self._pos += 1
                return
            if char == "":
                raise _Damaged(self.offset(), "the file ends inside a list: truncated")
            yield self.value()

    def end_of_body(self) -> None:
        if self.peek() != "":
            raise _Damaged(self.offset(), "more text after the end of the body")


def _end_of_value(text: str, pos: int) -> int | None:
    """Where the malformed value at `pos` ends: at the ',' ']' or '}' that closes its level; None when the
    text ends first. Strings are skipped whole, so brackets inside them do not count."""
    depth, in_string, escaped = 0, False, False
    for i in range(pos, len(text)):
        ch = text[i]
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            if depth == 0:
                return i
            depth -= 1
            if depth == 0:
                return i + 1
        elif ch == "," and depth == 0:
            return i
    return None


# ---- the bodies of each platform: which lists hold which records ----

# ("list", key, None) where a named list starts (key None: the body or its response is a list),
# ("item", key, Element) for each of its items, ("field", key, Element) for any other field of the body
BodyEvent = tuple[str, str | None, Any]


def _body_events(stream: _JsonStream, lists: set[str]) -> Iterator[BodyEvent]:
    """The items of the named lists (in the body or in its `response`), and the body's other fields."""
    first = stream.peek()
    if first == "[":
        yield "list", None, None
        for element in stream.elements():
            yield "item", None, element
    elif first == "{":
        yield from _object_events(stream, lists)
    else:
        raise _Damaged(stream.offset(), "not a JSON object or list")
    stream.end_of_body()


def _object_events(stream: _JsonStream, lists: set[str]) -> Iterator[BodyEvent]:
    stream.expect("{")
    while True:
        char = stream.peek(and_commas=True)
        if char == "}":
            stream.expect("}")
            return
        if char == "":
            raise _Damaged(stream.offset(), "the file ends inside the body: truncated")
        key = stream.string()
        stream.expect(":")
        opening = stream.peek()
        if key == "response" and opening == "{":
            yield from _object_events(stream, lists)
        elif key == "response" and opening == "[":
            yield "list", None, None
            for element in stream.elements():
                yield "item", None, element
        elif key in lists and opening == "n":  # "items": null, an empty list as some APIs write it
            element = stream.value()
            yield ("list", key, None) if element.value is None else ("field", key, element)
        elif key in lists and opening == "[":
            yield "list", key, None
            for element in stream.elements():
                yield "item", key, element
        else:
            yield "field", key, stream.value()


Routed = tuple[str, Any]  # (raw table, record for the loader)


def _vk_records(events: Iterator[BodyEvent]) -> Iterator[Routed]:
    """wall.get and newsfeed.search items are posts; wall.getComments items (they name their `post_id`)
    are comments, with the replies of their threads; groups.getById lists groups."""
    lists: set[str | None] = set()
    table = "vk_posts"
    for kind, key, element in events:
        if kind == "list":
            lists.add(key)
        if kind != "item" or (key == "groups" and "items" in lists):  # the groups of an extended wall.get
            continue
        if key in ("groups", None):
            yield "vk_groups", element.raw
            continue
        item = element.value
        if isinstance(item, dict):
            table = "vk_comments" if "post_id" in item else "vk_posts"
        yield table, element.raw
        thread = item.get("thread") if isinstance(item, dict) and table == "vk_comments" else None
        replies = thread.get("items") if isinstance(thread, dict) else None
        for reply in replies if isinstance(replies, list) else ():
            yield "vk_comments", reply
    if not lists:
        raise UnknownFileFormat("not a VK wall.get, newsfeed.search, wall.getComments or groups.getById body")


def _ok_records(events: Iterator[BodyEvent], topic_id: int | None) -> Iterator[Routed]:
    """group.getInfo lists groups; mediatopic.getTopics topics take `group_id` from their `owner_ref`
    ("group:<id>") or from the one group in `entities`; discussions.getComments comments take `topic_id`
    from the caller (the response does not name it)."""
    lists: set[str | None] = set()
    waiting_for_group: list[Any] = []  # topics without an owner_ref, until `entities` names the group
    only_group: str | None = None
    for kind, key, element in events:
        if kind == "list":
            lists.add(key)
        elif kind == "field" and key == "error_code":
            raise UnknownFileFormat(f"an OK error response, not data: error {element.text}")
        elif kind == "field" and key == "entities":
            only_group = _only_group_of(element.value)
        elif kind == "item" and (element.error or not isinstance(element.value, dict)):
            yield _OK_LISTS[key], element.raw  # the loader says what is wrong with it
        elif kind == "item" and key == "comments":
            yield "ok_comments", with_topic_id(element.value, topic_id)
        elif kind == "item" and key == "media_topics":
            if "group_id" in element.value or str(element.value.get("owner_ref")).startswith("group:"):
                yield "ok_topics", with_group_id(element.value, None)
            else:
                waiting_for_group.append(element.value)
        elif kind == "item":
            yield "ok_groups", element.raw
    for topic in waiting_for_group:
        yield "ok_topics", with_group_id(topic, only_group)
    if not lists:
        raise UnknownFileFormat(
            "not an OK mediatopic.getTopics, discussions.getComments or group.getInfo body"
        )


_OK_LISTS = {None: "ok_groups", "groups": "ok_groups", "media_topics": "ok_topics", "comments": "ok_comments"}


def _only_group_of(entities: Any) -> str | None:
    groups = entities.get("groups") if isinstance(entities, dict) else None
    if isinstance(groups, list) and len(groups) == 1 and isinstance(groups[0], dict):
        return str(groups[0].get("uid"))
    return None


def _telegram_records(file: BinaryIO, damage: list[tuple[int, str, str]]) -> Iterator[Routed]:
    """One message per line. Lines end at '\\n' only: U+2028 and other Unicode line breaks may be inside
    a message's text. A last line cut short (no newline, not JSON) is a truncated file."""
    offset = 0
    while True:
        line = file.readline(MAX_ITEM_CHARS)
        if not line:
            return
        start, offset = offset, offset + len(line)
        if not line.endswith(b"\n"):
            if len(line) >= MAX_ITEM_CHARS:  # a line too long to hold: quarantined, and skipped to its end
                while (rest := file.readline(MAX_ITEM_CHARS)) and not rest.endswith(b"\n"):
                    offset += len(rest)
                offset += len(rest)
                yield "telegram_messages", line[:TAIL_SHOWN_CHARS]
                continue
            try:
                json.loads(line)
            except RecursionError:
                pass  # whole, only deep: the loader gives it its reason
            except ValueError:
                text = line[:TAIL_SHOWN_CHARS].decode("utf-8", "backslashreplace")
                damage.append((start, "the last line is cut short: truncated", text))
                return
        if line.strip():
            yield "telegram_messages", line.rstrip(b"\r\n")


# ---- loading ----


def _read_records(file: BinaryIO, platform: str, topic_id: int | None, damage: list) -> Iterator[Routed]:
    """(raw table, record) of every item of the file; damage beyond one item is appended to `damage` as
    (byte offset, reason, the tail's text) and ends the reading."""
    if platform == "telegram":
        yield from _telegram_records(file, damage)
        return
    stream = _JsonStream(file)
    try:
        if platform == "vk":
            yield from _vk_records(_body_events(stream, {"items", "groups"}))
        else:
            yield from _ok_records(_body_events(stream, {"groups", "media_topics", "comments"}), topic_id)
    except _Damaged as damaged:
        damage.append((damaged.offset, damaged.reason, stream.tail()))


def file_records(path: Path, platform: str, topic_id: int | None = None) -> Iterator[Routed]:
    """(raw table, record) of every item of a file, as `ingest_files` hands them to the loader."""
    damage: list[tuple[int, str, str]] = []
    with Path(path).open("rb") as file:
        yield from _read_records(file, platform, topic_id, damage)
    for offset, reason, _ in damage:
        raise UnknownFileFormat(f"{path}: damaged at byte {offset} ({reason})")


def ingest_files(paths: list[Path], platform: str, *, topic_id: int | None = None) -> IngestResult:
    """Load each file in its own transaction; `topic_id` is the OK topic of discussions.getComments files."""
    if topic_id is not None and platform != "ok":
        raise ValueError("a topic id only applies to OK discussions.getComments files")
    total = IngestResult()
    with server.connect("loader") as conn:
        for path in map(Path, paths):
            with conn.transaction():
                total += _ingest_file(conn, path, platform, topic_id, total.damaged)
    return total


def _ingest_file(
    conn: psycopg.Connection, path: Path, platform: str, topic_id: int | None, damaged: list[FileDamage]
) -> LoadResult:
    source_id, load_id = f"file:{path.name}", f"file:{path.name}#{uuid.uuid4().hex[:8]}"
    size_mb = path.stat().st_size >> 20
    result, damage = LoadResult(), list[tuple[int, str, Any]]()  # (byte offset, reason, the text there)
    batches: dict[str, list[Any]] = {}
    items, next_progress = 0, PROGRESS_EVERY_BYTES
    with path.open("rb") as file:
        for table, record in _read_records(file, platform, topic_id, damage):
            batch = batches.setdefault(table, [])
            batch.append(record)
            items += 1
            if len(batch) >= BATCH_ITEMS:
                result += load_records(conn, table, batch, source_id, load_id)
                batch.clear()
                if file.tell() >= next_progress:
                    log.info("%s: %d of %d MB read, %d items", path, file.tell() >> 20, size_mb, items)
                    next_progress += PROGRESS_EVERY_BYTES
    for table, batch in batches.items():
        if batch:
            result += load_records(conn, table, batch, source_id, load_id)
    for offset, reason, tail in damage:
        found = FileDamage(path, offset, reason)
        damaged.append(found)
        table = next(iter(batches), _FIRST_TABLE[platform])
        rejection = Rejection(f"file damaged at byte {offset}: {reason}; not loaded from there on", tail)
        record_rejections(conn, ENTITIES[table], [rejection], source_id, load_id)
        result.rejected += 1
    log.info("%s → raw: %s", path, result)
    return result


_FIRST_TABLE = {"vk": "vk_posts", "ok": "ok_topics", "telegram": "telegram_messages"}
