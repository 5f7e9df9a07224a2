"""The labelled messages of `socmon eval` in their networks' native shapes (see `socmon.evaluation`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from socmon.constants import MOSCOW
from socmon.evaluation_set import (
    DEFAULT_THREAD_TEXT,
    FIRST_CITIZEN_ID,
    FIRST_EVAL_COMMUNITY_ID,
    FIRST_EVAL_DISCUSSION_ID,
    FIRST_EVAL_OK_GROUP_ID,
    FIRST_EVAL_TELEGRAM_CHANNEL_ID,
    PUBLISHED_FROM,
    THREAD_POST_OFFSET,
    THREAD_ROOT_OFFSET,
    LabelledMessage,
)


@dataclass(frozen=True)
class RawBatch:
    """Records for one raw table, as one registered source read them."""

    table: str
    source_id: str
    records: list[dict[str, Any]]


def community_ids(messages: Sequence[LabelledMessage]) -> dict[str | None, int]:
    """One eval community (a VK owner id) per community municipality; None = a krai-wide community.

    The same community exists in OK (group FIRST_EVAL_OK_GROUP_ID + n) and in Telegram (channel
    FIRST_EVAL_TELEGRAM_CHANNEL_ID + n, with its discussion group FIRST_EVAL_DISCUSSION_ID + n).
    """
    codes = sorted({m.community_municipality_code for m in messages if m.community_municipality_code})
    ids: dict[str | None, int] = {None: -FIRST_EVAL_COMMUNITY_ID}
    ids.update({code: -(FIRST_EVAL_COMMUNITY_ID + n) for n, code in enumerate(codes, start=1)})
    return ids


def _community_number(vk_owner_id: int) -> int:
    return -vk_owner_id - FIRST_EVAL_COMMUNITY_ID


def ok_group_id(vk_owner_id: int) -> int:
    return FIRST_EVAL_OK_GROUP_ID + _community_number(vk_owner_id)


def telegram_channel_id(vk_owner_id: int) -> int:
    return FIRST_EVAL_TELEGRAM_CHANNEL_ID + _community_number(vk_owner_id)


def discussion_id(vk_owner_id: int) -> int:
    return FIRST_EVAL_DISCUSSION_ID + _community_number(vk_owner_id)


def registry_rows(communities: dict[str | None, int]) -> list[dict[str, str]]:
    """monitored_communities.csv rows for the eval communities, in each network."""
    rows = []
    for code, owner_id in communities.items():
        name = f"Оценка: {code or 'Кубань'}"
        for platform, community_id in (
            ("vk", -owner_id),
            ("ok", ok_group_id(owner_id)),
            ("telegram", telegram_channel_id(owner_id)),
        ):
            source_id = f"vk:{owner_id}" if platform == "vk" else f"{platform}:{community_id}"
            rows.append(
                {
                    "source_id": source_id,
                    "platform": platform,
                    "community_id": str(community_id),
                    "screen_name": f"eval_{code or 'kuban'}",
                    "name_ru": name,
                    "municipality_code": code or "",
                }
            )
    return rows


def _published_at(message: LabelledMessage, number: int) -> datetime:
    """A minute after the previous message, unless the line gives published_offset_hours (hours after
    the set's start), so that repeats by one author fall in (or out of) the duplicate window as labelled."""
    if message.published_offset_hours is not None:
        return PUBLISHED_FROM + timedelta(hours=message.published_offset_hours)
    return PUBLISHED_FROM + timedelta(minutes=number)


def _citizen_id(message: LabelledMessage, number: int) -> int:
    return message.author_id or FIRST_CITIZEN_ID + number


def native_messages(messages: Sequence[LabelledMessage]) -> tuple[list[RawBatch], dict[str, LabelledMessage]]:
    """The messages as raw records of their networks, and source_message_key -> labelled message.

    Message number n (1-based, in the labelled order) is object n of its network; a comment's post is
    n + THREAD_POST_OFFSET, published 30 seconds before it by the community.
    """
    communities = community_ids(messages)
    batches: dict[tuple[str, str], list[dict[str, Any]]] = {}
    keys: dict[str, LabelledMessage] = {}
    shapes = {"vk": _vk_records, "ok": _ok_records, "telegram": _telegram_records}
    for number, message in enumerate(messages, start=1):
        community = communities[message.community_municipality_code]
        for table, source_id, record, key in shapes[message.platform](message, number, community):
            batches.setdefault((table, source_id), []).append(record)
            if key is not None:
                keys[key] = message
    return [RawBatch(table, source_id, records) for (table, source_id), records in batches.items()], keys


Record = tuple[str, str, dict[str, Any], str | None]  # raw table, source id, payload, key if labelled


def _vk_records(message: LabelledMessage, number: int, community: int) -> list[Record]:
    at = _published_at(message, number)
    if message.author == "official" and message.author_id is not None:  # checked when the set is read
        from_id = message.author_id
    elif message.author == "community":
        from_id = community
    else:
        from_id = _citizen_id(message, number)
    if message.kind == "post":
        owner_id = from_id if message.author == "official" else community
        post = _vk_post(owner_id, number, from_id, at, message.text)
        return [("vk_posts", f"vk:{owner_id}", post, post_key(owner_id, number))]
    thread_post = _vk_post(
        community, number + THREAD_POST_OFFSET, community, at - timedelta(seconds=30), _thread_text(message)
    )
    comment: dict[str, Any] = {
        "id": number,
        "owner_id": community,
        "post_id": number + THREAD_POST_OFFSET,
        "from_id": from_id,
        "date": int(at.timestamp()),
        "text": message.text,
        "parents_stack": [],
        "thread": {"count": 0, "items": [], "can_post": True, "show_reply_button": True},
        "likes": {"count": 0, "user_likes": 0, "can_like": 1},
    }
    key = f"vk:comment{community}_{number + THREAD_POST_OFFSET}_{number}"
    return [
        ("vk_posts", f"vk:{community}", thread_post, None),
        ("vk_comments", f"vk:{community}", comment, key),
    ]


def _vk_post(owner_id: int, post_id: int, from_id: int | None, at: datetime, text: str) -> dict[str, Any]:
    return {
        "id": post_id,
        "owner_id": owner_id,
        "from_id": from_id,
        "date": int(at.timestamp()),
        "text": text,
        "post_type": "post",
        "marked_as_ads": 0,
        "comments": {"count": 0, "can_post": 1},
        "likes": {"count": 0},
        "reposts": {"count": 0},
    }


def _thread_text(message: LabelledMessage) -> str:
    return message.thread_text or DEFAULT_THREAD_TEXT


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _ok_records(message: LabelledMessage, number: int, community: int) -> list[Record]:
    at = _published_at(message, number)
    group_id = ok_group_id(community)
    if message.kind == "post":
        if message.author == "official":
            group_id = message.author_id or group_id
            author_ref = f"group:{group_id}"
        elif message.author == "community":
            author_ref = f"group:{group_id}"
        else:
            author_ref = f"user:{_citizen_id(message, number)}"
        topic = _ok_topic(group_id, number, author_ref, at, message.text)
        return [("ok_topics", f"ok:{group_id}", topic, f"ok:topic/{number}")]
    topic_id = number + THREAD_POST_OFFSET
    topic = _ok_topic(
        group_id, topic_id, f"group:{group_id}", at - timedelta(seconds=30), _thread_text(message)
    )
    if message.author == "citizen":
        author_id, author_type = _citizen_id(message, number), "USER"
    else:
        author_id, author_type = message.author_id or group_id, "GROUP"
    comment_id = f"eval{number}"
    comment = {
        "id": comment_id,
        "author_id": str(author_id),
        "author_type": author_type,
        "date": f"{at.astimezone(MOSCOW):%Y-%m-%d %H:%M:%S}",
        "date_ms": _ms(at),
        "text": message.text,
        "like_count": 0,
        "liked_it": False,
        "topic_id": topic_id,
    }
    return [
        ("ok_topics", f"ok:{group_id}", topic, None),
        ("ok_comments", f"ok:{group_id}", comment, f"ok:comment/{topic_id}/{comment_id}"),
    ]


def _ok_topic(group_id: int, topic_id: int, author_ref: str, at: datetime, text: str) -> dict[str, Any]:
    return {
        "id": str(topic_id),
        "group_id": str(group_id),
        "created_ms": _ms(at),
        "author_ref": author_ref,
        "owner_ref": f"group:{group_id}",
        "media": [{"type": "text", "text": text}],
        "discussion_summary": {"comments_count": 0},
        "like_summary": {"count": 0},
        "reshare_summary": {"count": 0},
        "is_commenting_denied": False,
    }


def _telegram_records(message: LabelledMessage, number: int, community: int) -> list[Record]:
    from telethon.tl import types

    from socmon.sources.telegram import message_payload

    at = _published_at(message, number).astimezone(UTC)
    channel = telegram_channel_id(community)
    if message.kind == "post":
        if message.author == "official":
            channel = message.author_id or channel
        post = types.Message(
            id=number, peer_id=types.PeerChannel(channel), date=at, message=message.text, post=True
        )
        return [
            (
                "telegram_messages",
                f"telegram:{channel}",
                message_payload(post),
                f"telegram:{channel}/{number}",
            )
        ]
    group = discussion_id(community)
    post_id, root_id = number + THREAD_POST_OFFSET, number + THREAD_ROOT_OFFSET
    channel_peer = types.PeerChannel(channel)
    post = types.Message(
        id=post_id,
        peer_id=channel_peer,
        date=at - timedelta(seconds=30),
        message=_thread_text(message),
        post=True,
        replies=types.MessageReplies(replies=1, replies_pts=1, comments=True, channel_id=group),
    )
    root = types.Message(  # the discussion group's copy of the post roots its thread
        id=root_id,
        peer_id=types.PeerChannel(group),
        date=at - timedelta(seconds=28),
        message=_thread_text(message),
        from_id=channel_peer,
        fwd_from=types.MessageFwdHeader(
            date=at - timedelta(seconds=30),
            from_id=channel_peer,
            channel_post=post_id,
            saved_from_peer=channel_peer,
            saved_from_msg_id=post_id,
        ),
    )
    sender: Any = (
        types.PeerUser(_citizen_id(message, number))
        if message.author == "citizen"
        else types.PeerChannel(message.author_id or channel)
    )
    reply = types.Message(
        id=number,
        peer_id=types.PeerChannel(group),
        date=at,
        message=message.text,
        from_id=sender,
        reply_to=types.MessageReplyHeader(reply_to_msg_id=root_id),
    )
    source_id = f"telegram:{channel}"
    return [
        ("telegram_messages", source_id, message_payload(post), None),
        ("telegram_messages", source_id, message_payload(root), None),
        ("telegram_messages", source_id, message_payload(reply), f"telegram:{group}/{number}"),
    ]


def post_key(owner_id: int, post_id: int) -> str:
    return f"vk:wall{owner_id}_{post_id}"


def message_keys(messages: Sequence[LabelledMessage]) -> dict[str, LabelledMessage]:
    """source_message_key -> labelled message, as native_messages() publishes them."""
    return native_messages(messages)[1]
