"""Which fields of each platform's records the loader checks, and how.

Every field that staging casts (an id to bigint, a counter to int, a date, a flag) or reads inside a
nested object is checked here, so that whatever reaches `raw` can be typed by staging. A record that
fails a check is quarantined in `raw.rejected` with a reason that names the field; the rest of its batch
loads. A field that is absent or null is fine unless it is marked `required`: staging gives NULL then.

The spellings accepted are the ones the staging macros accept (dbt_project/macros/staging.sql): an
integer is a JSON integer or a string of digits within the column's range, a Unix time lies within
years 1 to 9999, a flag is a JSON boolean, 0/1 or one of the words Postgres reads as a boolean.

One table per platform below (VK, Telegram, OK): a field path is `a.b` for a field of a nested object
and `a[].b` for a field of each element of a list.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import Any

INT64_RANGE = (-(2**63), 2**63 - 1)
INT32_RANGE = (-(2**31), 2**31 - 1)
UNIX_SECONDS_RANGE = (-62135596800, 253402300799)  # 0001-01-01 to 9999-12-31, what to_timestamp takes
MISSING = object()


class BadRecord(ValueError):
    """A record that cannot be stored; the message is the reason recorded in raw.rejected."""


# ---- what a field may hold: each check returns None when the value fits, else what it should be ----

Check = Callable[[Any], str | None]
_DIGITS = re.compile(r"-?[0-9]{1,19}")


def _whole_number(value: Any) -> int | None:
    """An int, or a string of digits (as the APIs send some ids); None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _DIGITS.fullmatch(value):
        return int(value)
    return None


_INTEGER_BOUNDS: dict[Check, tuple[int, int]] = {}  # integer checks' ranges, for RecordSpec's fast path


def integer(low: int, high: int, what: str) -> Check:
    def check(value: Any) -> str | None:
        if type(value) is int:  # the usual case, first
            return None if low <= value <= high else what
        number = _whole_number(value)
        return None if number is not None and low <= number <= high else what

    _INTEGER_BOUNDS[check] = (low, high)
    return check


BIGINT = integer(*INT64_RANGE, "a 64-bit integer")
INT = integer(*INT32_RANGE, "a 32-bit integer")
UNIX_TIME = integer(*UNIX_SECONDS_RANGE, "a Unix time in seconds")
_MS_LOW, _MS_HIGH = (1000 * bound for bound in UNIX_SECONDS_RANGE)
UNIX_TIME_MS = integer(_MS_LOW, _MS_HIGH, "a Unix time in milliseconds")

_BOOLEAN_WORDS = {"true", "false", "t", "f", "1", "0", "yes", "no", "y", "n", "on", "off"}


def BOOLEAN(value: Any) -> str | None:
    if isinstance(value, bool) or value in (0, 1):
        return None
    if isinstance(value, str) and value.strip().lower() in _BOOLEAN_WORDS:
        return None
    return "a boolean"


def TEXT(value: Any) -> str | None:
    return None if isinstance(value, str) else "a string"


def OBJECT(value: Any) -> str | None:
    return None if isinstance(value, dict) else "an object"


def LIST(value: Any) -> str | None:
    return None if isinstance(value, list) else "a list"


_DATETIME = (
    r"(?P<y>[0-9]{4})-(?P<m>0[1-9]|1[0-2])-(?P<d>0[1-9]|[12][0-9]|3[01])"
    r"([T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?)?"
)
_ISO_WITH_ZONE = re.compile(_DATETIME + r"(Z|[+-](0[0-9]|1[0-4])(:?[0-5][0-9])?)?")
_ISO_WITHOUT_ZONE = re.compile(_DATETIME)


def _datetime_text(pattern: re.Pattern[str], what: str) -> Check:
    def check(value: Any) -> str | None:
        match = pattern.fullmatch(value) if isinstance(value, str) else None
        if match is None:
            return what
        try:
            date(int(match["y"]), int(match["m"]), int(match["d"]))
        except ValueError:
            return what
        return None

    return check


ISO_TIME = _datetime_text(_ISO_WITH_ZONE, "an ISO 8601 time with its offset")
LOCAL_TIME = _datetime_text(_ISO_WITHOUT_ZONE, "a time as 'YYYY-MM-DD hh:mm:ss'")


def author_ref(value: Any) -> str | None:
    """OK's "user:<id>" or "group:<id>"; staging casts the id to bigint."""
    if not isinstance(value, str):
        return "a string such as 'user:<id>'"
    ref_id = value.split(":")[1] if ":" in value else ""
    return None if ref_id == "" or BIGINT(ref_id) is None else "a string such as 'user:<id>' with a 64-bit id"


@dataclass(frozen=True)
class Required:
    """A field that staging cannot do without (a message's date): absent or null is a rejection too."""

    check: Check


@dataclass(frozen=True)
class RecordSpec:
    """What one raw table demands of a record: its key, the checks of its fields, and of the record as a
    whole (e.g. 'one of two date fields')."""

    key_of: Callable[[dict], tuple[Any, ...]]
    fields: dict[str, Check | Required] = field(default_factory=dict)
    whole: tuple[Callable[[dict], None], ...] = ()

    def check(self, payload: dict) -> tuple[Any, ...]:
        """The record's key; raises BadRecord naming the first field that does not fit."""
        key = self.key_of(payload)
        if not self._fits(payload):  # something unusual: the general walk finds the reason, if any
            self._check_fields(payload)
        for check_whole in self.whole:
            check_whole(payload)
        return key

    def _check_fields(self, payload: dict) -> None:
        for path, parent, name, check, required in self._rules:
            values: Sequence[tuple[str, Any]]
            if name is None:  # a field of each item of a list: the general walk
                values = _values_at(payload, path)
            elif parent is None:  # a field of the record (most fields: the loader's hot path)
                values = ((path, payload.get(name)),)
            else:  # a field of a nested object
                container = payload.get(parent)
                if container is None:
                    continue
                if type(container) is not dict:
                    raise BadRecord(f"field '{parent}' should be an object, got {_shown(container)}")
                values = ((path, container.get(name)),)
            for where, value in values:
                if value is None or value is MISSING:
                    if required:
                        raise BadRecord(f"missing field '{where}'")
                    continue
                expected = check(value)
                if expected is not None:
                    raise BadRecord(f"field '{where}' should be {expected}, got {_shown(value)}")

    @cached_property
    def _fits(self) -> Callable[[dict], bool]:
        """Whether every field fits, the usual cases inline: an int in range, a str for a text, a dict
        for a nested object; other values go to their check. The loader checks every record, and this is
        its hot path: Python code generated from the rules costs a few µs less a record than the general
        walk (issue 14). It only says yes where `_check_fields` would pass; on no, that walk runs and
        gives the reason."""
        namespace: dict[str, Any] = {"_values_at": _values_at, "MISSING": MISSING}
        lines = ["def fits(payload):", "    get = payload.get"]
        for i, (path, parent, name, check, required) in enumerate(self._rules):
            namespace[f"check_{i}"] = check
            bounds = _INTEGER_BOUNDS.get(check)
            if bounds is not None:
                namespace[f"low_{i}"], namespace[f"high_{i}"] = bounds
                in_range = f"type(value) is int and low_{i} <= value <= high_{i}"
                wrong = f"not ({in_range}) and check_{i}(value) is not None"
            elif check is TEXT:
                wrong = "type(value) is not str"
            else:
                wrong = f"check_{i}(value) is not None"
            absent = "return False" if required else "pass"
            if name is None:  # through a list: the general walk of this one path
                lines += [
                    f"    for _, value in _values_at(payload, {path!r}):",
                    "        if value is None or value is MISSING:",
                    f"            {absent}",
                    f"        elif {wrong}:",
                    "            return False",
                ]
                continue
            indent = "    "
            if parent is None:
                lines.append(f"    value = get({name!r})")
            else:
                lines += [
                    f"    container = get({parent!r})",
                    "    if container is not None:",
                    "        if type(container) is not dict:",
                    "            return False",
                    f"        value = container.get({name!r})",
                ]
                indent = "        "
            lines += [
                f"{indent}if value is None:",
                f"{indent}    {absent}",
                f"{indent}elif {wrong}:",
                f"{indent}    return False",
            ]
        lines.append("    return True")
        exec("\n".join(lines), namespace)  # code generated from the rules above, no input
        return namespace["fits"]

    @cached_property
    def _rules(self) -> tuple[tuple[str, str | None, str | None, Check, bool], ...]:
        """(path, parent object, field name, check, required) of each field; the name is None for a path
        through a list, and the parent None for a field of the record itself."""
        rules = []
        for path, rule in self.fields.items():
            parts = path.split(".")
            parent: str | None
            name: str | None
            parent, name = (None, parts[0]) if len(parts) == 1 else (parts[0], parts[1])
            if len(parts) > 2 or "[]" in path:
                parent, name = None, None
            check = rule.check if isinstance(rule, Required) else rule
            rules.append((path, parent, name, check, isinstance(rule, Required)))
        return tuple(rules)


def _values_at(payload: dict, path: str) -> list[tuple[str, Any]]:
    """(concrete path, value) of every value a path names; a container of the wrong type is a BadRecord."""
    if "." not in path and not path.endswith("[]"):  # most fields: a plain lookup
        return [(path, payload.get(path, MISSING))]
    found: list[tuple[str, Any]] = [("", payload)]
    for part in path.split("."):
        each = part.endswith("[]")
        name = part.removesuffix("[]")
        deeper: list[tuple[str, Any]] = []
        for where, container in found:
            if container is None or container is MISSING:
                continue
            if not isinstance(container, dict):
                raise BadRecord(f"field '{where}' should be an object, got {_shown(container)}")
            here = f"{where}.{name}" if where else name
            value = container.get(name, MISSING)
            if not each:
                deeper.append((here, value))
            elif value is not None and value is not MISSING:
                if not isinstance(value, list):
                    raise BadRecord(f"field '{here}' should be a list, got {_shown(value)}")
                deeper.extend((f"{here}[{i}]", item) for i, item in enumerate(value))
        found = deeper
    return found


def _shown(value: Any) -> str:
    if isinstance(value, dict | list):
        return type(value).__name__
    text = repr(value)
    return f"{type(value).__name__}: {text[:40]}{'…' if len(text) > 40 else ''}"


# ---- keys: the raw table's key columns are bigint, so a key must be a 64-bit integer ----


def key_integer(payload: dict, field_name: str) -> int:
    value = payload.get(field_name)
    if value is None:
        raise BadRecord(f"missing field '{field_name}'")
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRecord(f"field '{field_name}' should be an integer, got {_shown(value)}")
    if not INT64_RANGE[0] <= value <= INT64_RANGE[1]:
        raise BadRecord(f"field '{field_name}' should be a 64-bit integer, got {_shown(value)}")
    return value


def key_numeric_string(payload: dict, field_name: str) -> int:
    """OK sends its ids as strings of digits."""
    value = payload.get(field_name)
    if value is None:
        raise BadRecord(f"missing field '{field_name}'")
    number = _whole_number(value) if isinstance(value, int | str) else None
    if number is None or not INT64_RANGE[0] <= number <= INT64_RANGE[1]:
        raise BadRecord(f"field '{field_name}' should be numeric, a 64-bit id, got {_shown(value)}")
    return number


def _positive(number: int, field_name: str) -> int:
    if number <= 0:
        raise BadRecord(f"field '{field_name}' should be a positive id, got {number}")
    return number


# ---- VK (API 5.199): wall.get / newsfeed.search posts, wall.getComments comments, groups.getById ----

VK_POST = RecordSpec(
    key_of=lambda p: (key_integer(p, "owner_id"), key_integer(p, "id")),
    fields={
        "date": Required(UNIX_TIME),
        "edited": UNIX_TIME,
        "from_id": BIGINT,
        "signer_id": BIGINT,
        "text": TEXT,
        "likes.count": INT,
        "reposts.count": INT,
        "views.count": INT,
        "comments.count": INT,
    },
)

VK_COMMENT = RecordSpec(
    key_of=lambda p: (key_integer(p, "owner_id"), key_integer(p, "post_id"), key_integer(p, "id")),
    fields={
        "date": Required(UNIX_TIME),
        "from_id": BIGINT,
        "text": TEXT,
        "parents_stack": LIST,
        "parents_stack[]": BIGINT,
        "reply_to_comment": BIGINT,
        "reply_to_user": BIGINT,
        "thread.count": INT,
        "thread.items": LIST,
        "likes.count": INT,
    },
)

VK_GROUP = RecordSpec(
    key_of=lambda p: (_positive(key_integer(p, "id"), "id"),),  # staging negates it into an owner id
    fields={
        "is_closed": INT,
        "members_count": INT,
        "wall": INT,
        "contacts[]": OBJECT,
        "cover": OBJECT,
    },
)

VK_DELETED_POST = RecordSpec(  # written by the VK extractor itself, never read from the API
    key_of=lambda p: (key_integer(p, "owner_id"), key_integer(p, "post_id")),
)


# ---- Telegram (Telethon's Message.to_json and ChatFull) ----


def _telegram_peer_id(payload: dict) -> int:
    peer = payload.get("peer_id")
    if not isinstance(peer, dict):
        raise BadRecord("missing field 'peer_id'" if peer is None else "field 'peer_id' should be an object")
    for name in ("channel_id", "chat_id", "user_id"):
        if name in peer:
            return key_integer(peer, name)
    raise BadRecord("field 'peer_id' names no channel, chat or user")


TELEGRAM_MESSAGE = RecordSpec(
    key_of=lambda p: (_telegram_peer_id(p), key_integer(p, "id")),
    fields={
        "date": Required(ISO_TIME),
        "edit_date": ISO_TIME,
        "post": BOOLEAN,
        "message": TEXT,
        "from_id.user_id": BIGINT,
        "from_id.channel_id": BIGINT,
        "from_id.chat_id": BIGINT,
        "reply_to.reply_to_msg_id": BIGINT,
        "reply_to.reply_to_top_id": BIGINT,
        "reply_to.reply_to_peer_id.channel_id": BIGINT,
        "fwd_from.saved_from_peer.channel_id": BIGINT,
        "fwd_from.saved_from_msg_id": BIGINT,
        "fwd_from.channel_post": BIGINT,
        "replies.channel_id": BIGINT,
        "replies.comments": BOOLEAN,
        "replies.replies": INT,
        "views": INT,
        "forwards": INT,
        "pinned": BOOLEAN,
    },
)

TELEGRAM_CHANNEL = RecordSpec(
    key_of=lambda p: (key_integer(p, "id"),),
    fields={
        "chats[].id": BIGINT,
        "chats[].verified": BOOLEAN,
        "chats[].broadcast": BOOLEAN,
        "chats[].scam": BOOLEAN,
        "chats[].fake": BOOLEAN,
        "chats[].photo": OBJECT,
        "chats[].date": ISO_TIME,
        "full_chat.participants_count": INT,
        "full_chat.linked_chat_id": BIGINT,
        "full_chat.pinned_msg_id": BIGINT,
    },
)


# ---- OK: mediatopic.getTopics topics, discussions.getComments comments, group.getInfo ----


def _ok_comment_key(p: dict) -> tuple[int, str]:
    comment_id = p.get("id")
    if comment_id in ("", None) or isinstance(comment_id, bool) or not isinstance(comment_id, str | int):
        raise BadRecord("missing field 'id'" if comment_id in ("", None) else "field 'id' should be a string")
    return key_integer(p, "topic_id"), str(comment_id)


def _ok_comment_has_a_time(p: dict) -> None:
    """Staging dates a comment by `date_ms`, else by `date`: one of them must be there."""
    if p.get("date_ms") is None and p.get("date") is None:
        raise BadRecord("missing field 'date_ms' (nor is there a 'date')")


OK_TOPIC = RecordSpec(
    key_of=lambda p: (key_numeric_string(p, "group_id"), key_numeric_string(p, "id")),
    fields={
        "created_ms": Required(UNIX_TIME_MS),
        "author_ref": author_ref,
        "media[]": OBJECT,
        "media[].text": TEXT,
        "discussion_summary.comments_count": INT,
        "like_summary.count": INT,
        "reshare_summary.count": INT,
        "is_commenting_denied": BOOLEAN,
        "is_ad": BOOLEAN,
    },
)

OK_COMMENT = RecordSpec(
    key_of=_ok_comment_key,
    fields={
        "date_ms": UNIX_TIME_MS,
        "date": LOCAL_TIME,
        "author_type": TEXT,
        "author_id": BIGINT,
        "text": TEXT,
        "reply_to_id": BIGINT,
        "like_count": INT,
    },
    whole=(_ok_comment_has_a_time,),
)

OK_GROUP = RecordSpec(
    key_of=lambda p: (key_numeric_string(p, "uid"),),
    fields={
        "members_count": INT,
        "business": BOOLEAN,
        "created_ms": UNIX_TIME_MS,
    },
)


RECORD_SPECS: dict[str, RecordSpec] = {
    "vk_posts": VK_POST,
    "vk_comments": VK_COMMENT,
    "vk_groups": VK_GROUP,
    "vk_deleted_posts": VK_DELETED_POST,
    "telegram_messages": TELEGRAM_MESSAGE,
    "telegram_channels": TELEGRAM_CHANNEL,
    "ok_topics": OK_TOPIC,
    "ok_comments": OK_COMMENT,
    "ok_groups": OK_GROUP,
}
