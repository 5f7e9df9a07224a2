"""`socmon eval`: the classifier measured against labelled messages (tests/data/incident_*_set.jsonl).

Each labelled message is loaded into the raw layer of a scratch database (`SOCMON_EVAL_DATABASE`, default
`socmon_eval`) in its network's native shape, through the real loader, and the real dbt models classify
it (`dbt build --select +int_messages_classified`, in a copy of the dbt project whose registry also lists
the eval communities):

| platform | kind    | raw shape                                                                      |
| -------- | ------- | ------------------------------------------------------------------------------ |
| vk       | post    | a wall.get post on the wall of the eval community (an official's: its own wall) |
| vk       | comment | a wall.getComments comment under a community post                             |
| ok       | post    | a mediatopic.getTopics topic of the eval group (an official's: its own group)   |
| ok       | comment | a discussions.getComments comment under a group topic                          |
| telegram | post    | a channel post (Telethon `Message.to_json()`): by the community or an official  |
| telegram | comment | a reply in the channel's discussion group, under the group's copy of a post    |

A comment's post reads `thread_text` (default: a neutral community post); it is no labelled message.

The report gives, per set:
- precision, recall and F1 of `is_incident` on the set as written, and at the flow's base rate (negatives
  weighted to `negative_share` of the flow, default 0.85: `SOCMON_EVAL_NEGATIVE_SHARE` or `--negative-share`);
- on true incidents: the accuracy of the category, of the responsible body (as the message would be
  routed: a body named in the text, else the category's default), and of the municipality where the
  text names a place;
- the confusion by non-incident reason (expected reason -> predicted: incident or which reason), and
  between categories; the figures by network and kind.

A labelled line (JSON) holds: id, text, platform (vk, ok, telegram; default vk), kind (post or comment;
default post), optionally thread_text, community_municipality_code, author (citizen, official or
community), optionally author_id and published_offset_hours (the same citizen writing again), and the
expected is_incident, non_incident_reason, category_code, responsible_body_code, municipality_code and
names_place.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from socmon.config import settings, using_database
from socmon.constants import MOSCOW, PLATFORMS

EVAL_DATABASE = "socmon_eval"
log = logging.getLogger(__name__)
PUBLISHED_FROM = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)  # a Monday morning in Moscow
FIRST_EVAL_COMMUNITY_ID = 910_000  # the eval's VK communities: -910000 (no municipality), -910001, ...
FIRST_EVAL_OK_GROUP_ID = 91_000_000_000_000  # the same communities in OK ...
FIRST_EVAL_TELEGRAM_CHANNEL_ID = 1_910_000_000  # ... as Telegram channels ...
FIRST_EVAL_DISCUSSION_ID = 1_920_000_000  # ... and their discussion groups
FIRST_CITIZEN_ID = 50_000_000
THREAD_POST_OFFSET = 1_000_000  # the post a comment number n answers is number n + this
THREAD_ROOT_OFFSET = 2_000_000  # a Telegram post's copy in the discussion group
DEFAULT_THREAD_TEXT = "Обсуждаем новости дня 👇"
NEGATIVE_SHARE = 0.85  # the share of non-incidents in the real flow
# the "done when" figures; the report marks each as ok or below
TARGETS = {
    "incident_f1": 0.90,
    "precision_at_base_rate": 0.90,
    "category": 0.90,
    "body": 0.90,
    "municipality": 0.95,
}
AUTHORS = ("citizen", "official", "community")
KINDS = ("post", "comment")


@dataclass(frozen=True)
class LabelledMessage:
    id: str
    text: str
    is_incident: bool
    non_incident_reason: str | None
    category_code: str | None
    responsible_body_code: str | None
    municipality_code: str | None
    names_place: bool
    community_municipality_code: str | None = None
    author: str = "citizen"
    author_id: int | None = None
    published_offset_hours: float | None = None
    platform: str = "vk"
    kind: str = "post"
    thread_text: str | None = None

    @property
    def shape(self) -> str:
        return f"{self.platform} {self.kind}"

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LabelledMessage:
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        message = cls(**known)
        if message.author not in AUTHORS:
            raise ValueError(f"{message.id}: author must be one of {AUTHORS}, not {message.author!r}")
        if message.is_incident == (message.non_incident_reason is not None):
            raise ValueError(f"{message.id}: a non-incident needs a reason, an incident none")
        if message.platform not in PLATFORMS or message.kind not in KINDS:
            raise ValueError(
                f"{message.id}: platform must be one of {PLATFORMS} and kind one of {KINDS}, "
                f"not {message.platform!r} {message.kind!r}"
            )
        if message.platform == "telegram" and message.kind == "post" and message.author == "citizen":
            raise ValueError(f"{message.id}: a Telegram channel post is the channel's, not a citizen's")
        if message.author == "official" and message.author_id is None:
            raise ValueError(f"{message.id}: an official message needs author_id (a registered account)")
        if message.thread_text is not None and message.kind != "comment":
            raise ValueError(f"{message.id}: thread_text is for comments only")
        return message


@dataclass(frozen=True)
class Prediction:
    is_incident: bool
    non_incident_reason: str | None
    category_code: str | None
    routed_body_code: str | None  # the body the message is routed to (named in the text, else the category's)
    municipality_code: str | None


@dataclass
class Scores:
    messages: int = 0
    true_positives: int = 0
    false_positives: int = 0
    false_negatives: int = 0
    true_negatives: int = 0
    reasons_right: int = 0
    incidents: int = 0
    categories_right: int = 0
    bodies_right: int = 0
    placed_incidents: int = 0
    municipalities_right: int = 0
    category_confusion: Counter[tuple[str, str]] = field(default_factory=Counter)
    # expected -> predicted outcome, each "incident" or a non-incident reason
    reason_confusion: Counter[tuple[str, str]] = field(default_factory=Counter)
    # (platform kind, expected is_incident, predicted is_incident) -> messages
    by_shape: Counter[tuple[str, bool, bool]] = field(default_factory=Counter)
    missed: list[tuple[LabelledMessage, Prediction]] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return _share(self.true_positives, self.true_positives + self.false_positives)

    @property
    def recall(self) -> float:
        return _share(self.true_positives, self.true_positives + self.false_negatives)

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def at_base_rate(self, negative_share: float = NEGATIVE_SHARE) -> tuple[float, float, float]:
        """Precision, recall and F1 as if non-incidents were `negative_share` of the flow.

        Each incident of the set weighs (1 - negative_share) / incidents and each non-incident
        negative_share / non-incidents, so false positives count as often as they would in the real flow;
        recall, over incidents only, does not change.
        """
        if not 0 <= negative_share < 1:
            raise ValueError(f"the share of non-incidents must be in [0, 1), not {negative_share}")
        positives = self.true_positives + self.false_negatives
        negatives = self.true_negatives + self.false_positives
        if not positives:
            return 0.0, 0.0, 0.0
        positive_weight = (1 - negative_share) / positives
        negative_weight = negative_share / negatives if negatives else 0.0
        true_positives = self.true_positives * positive_weight
        flagged = true_positives + self.false_positives * negative_weight
        precision = true_positives / flagged if flagged else 0.0
        recall = self.recall
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return precision, recall, f1

    @property
    def reason_accuracy(self) -> float:
        return _share(self.reasons_right, self.true_negatives + self.false_positives)

    @property
    def category_accuracy(self) -> float:
        return _share(self.categories_right, self.incidents)

    @property
    def body_accuracy(self) -> float:
        return _share(self.bodies_right, self.incidents)

    @property
    def municipality_accuracy(self) -> float:
        return _share(self.municipalities_right, self.placed_incidents)


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def load_labelled_set(path: Path) -> list[LabelledMessage]:
    messages = []
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if line.strip():
                try:
                    messages.append(LabelledMessage.from_json(json.loads(line)))
                except (ValueError, TypeError) as exc:
                    raise ValueError(f"{path}:{number}: {exc}") from exc
    ids = Counter(m.id for m in messages)
    if duplicated := [i for i, n in ids.items() if n > 1]:
        raise ValueError(f"{path}: duplicate ids {duplicated[:5]}")
    return messages


def default_labelled_sets() -> list[Path]:
    return sorted((settings().project_dir / "tests" / "data").glob("incident_*_set.jsonl"))


# --- the messages in their networks' native shapes -----------------------------------------------------


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
    if message.author == "official":
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
    comment = {
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


# --- measuring --------------------------------------------------------------------------------------


def measure(messages: Sequence[LabelledMessage], predictions: dict[str, Prediction]) -> Scores:
    """Compare predictions (by labelled message id) with the labels."""
    scores = Scores()
    for message in messages:
        predicted = predictions[message.id]
        scores.messages += 1
        scores.by_shape[(message.shape, message.is_incident, predicted.is_incident)] += 1
        scores.reason_confusion[
            (_reason_or_incident(message.is_incident, message.non_incident_reason),
             _reason_or_incident(predicted.is_incident, predicted.non_incident_reason))
        ] += 1  # fmt: skip
        if message.is_incident and predicted.is_incident:
            scores.true_positives += 1
        elif message.is_incident:
            scores.false_negatives += 1
        elif predicted.is_incident:
            scores.false_positives += 1
        else:
            scores.true_negatives += 1
            scores.reasons_right += predicted.non_incident_reason == message.non_incident_reason
        wrong = message.is_incident != predicted.is_incident
        if message.is_incident:
            scores.incidents += 1
            expected_category = message.category_code or ""
            if predicted.category_code == message.category_code:
                scores.categories_right += 1
            else:
                scores.category_confusion[(expected_category, predicted.category_code or "-")] += 1
                wrong = True
            if predicted.routed_body_code == message.responsible_body_code:
                scores.bodies_right += 1
            else:
                wrong = True
            if message.names_place:
                scores.placed_incidents += 1
                if predicted.municipality_code == message.municipality_code:
                    scores.municipalities_right += 1
                else:
                    wrong = True
        elif predicted.non_incident_reason != message.non_incident_reason:
            wrong = True
        if wrong:
            scores.missed.append((message, predicted))
    return scores


def _reason_or_incident(is_incident: bool, reason: str | None) -> str:
    return "incident" if is_incident else reason or "-"


def format_report(
    title: str, scores: Scores, show_errors: bool = False, negative_share: float = NEGATIVE_SHARE
) -> str:
    def mark(value: float, target: str) -> str:
        return "ok" if value >= TARGETS[target] else f"below the target {TARGETS[target]:.2f}"

    non_incidents = scores.true_negatives + scores.false_positives
    base_precision, base_recall, base_f1 = scores.at_base_rate(negative_share)
    lines = [
        f"== {title}: {scores.messages} messages, {scores.incidents} incidents "
        f"({_share(non_incidents, scores.messages):.0%} non-incidents)",
        f"is_incident     precision {scores.precision:.3f}  recall {scores.recall:.3f}  "
        f"F1 {scores.f1:.3f}  (as written)",
        f"                tp {scores.true_positives}  fp {scores.false_positives}  "
        f"fn {scores.false_negatives}  tn {scores.true_negatives}",
        f"at base rate    precision {base_precision:.3f}  recall {base_recall:.3f}  F1 {base_f1:.3f}  "
        f"(non-incidents weighted to {negative_share:.0%} of the flow; "
        f"F1 {mark(base_f1, 'incident_f1')}, precision {mark(base_precision, 'precision_at_base_rate')})",
        f"reason          accuracy {scores.reason_accuracy:.3f} on {non_incidents} non-incidents",
        f"category        accuracy {scores.category_accuracy:.3f} on {scores.incidents} incidents  "
        f"({mark(scores.category_accuracy, 'category')})",
        f"body            accuracy {scores.body_accuracy:.3f} on {scores.incidents} incidents  "
        f"({mark(scores.body_accuracy, 'body')})",
        f"municipality    accuracy {scores.municipality_accuracy:.3f} on {scores.placed_incidents} incidents "
        f"naming a place  ({mark(scores.municipality_accuracy, 'municipality')})",
    ]
    lines += _reason_table(scores.reason_confusion)
    if scores.by_shape:
        lines.append("by network and kind:")
        for shape in sorted({shape for shape, _, _ in scores.by_shape}):
            counts = {(e, p): scores.by_shape[(shape, e, p)] for e in (True, False) for p in (True, False)}
            tp, fn, fp = counts[(True, True)], counts[(True, False)], counts[(False, True)]
            lines.append(
                f"  {shape:<18} {sum(counts.values()):>5} messages  {tp + fn:>4} incidents  "
                f"precision {_share(tp, tp + fp):.3f}  recall {_share(tp, tp + fn):.3f}"
            )
    if scores.category_confusion:
        lines.append("category confusion (expected -> predicted: count):")
        lines += [
            f"  {expected} -> {predicted}: {count}"
            for (expected, predicted), count in sorted(
                scores.category_confusion.items(), key=lambda item: (-item[1], item[0])
            )
        ]
    if show_errors and scores.missed:
        lines.append("messages not classified as labelled:")
        for message, predicted in scores.missed:
            expected = _outcome(
                message.is_incident,
                message.non_incident_reason,
                message.category_code,
                message.responsible_body_code,
                message.municipality_code,
            )
            got = _outcome(
                predicted.is_incident,
                predicted.non_incident_reason,
                predicted.category_code,
                predicted.routed_body_code,
                predicted.municipality_code,
            )
            lines.append(f"  {message.id}: expected {expected}, got {got}: {message.text[:110]!r}")
    return "\n".join(lines)


_SHORT_REASONS = {
    "official_author": "official",
    "not_about_authorities": "not_about",
    "advertising_spam": "advertising",
}


def _reason_table(confusion: Counter[tuple[str, str]]) -> list[str]:
    """Expected outcome (rows) against predicted (columns): incident or each non-incident reason."""
    if not confusion:
        return []
    order = ["incident", *sorted({o for pair in confusion for o in pair} - {"incident"})]
    expected = [o for o in order if any(confusion[(o, p)] for p in order)]
    width = max(len(o) for o in order) + 2
    lines = [
        "reason confusion (rows: expected, columns: predicted; the diagonal is right):",
        " " * (width + 2) + "".join(f"{_SHORT_REASONS.get(o, o[:12]):>13}" for o in order) + f"{'right':>8}",
    ]
    for row in expected:
        total = sum(confusion[(row, p)] for p in order)
        cells = "".join(f"{confusion[(row, p)] or '.':>13}" for p in order)
        lines.append(f"  {row:<{width}}{cells}{_share(confusion[(row, row)], total):>8.0%}")
    return lines


def _outcome(
    is_incident: bool, reason: str | None, category: str | None, body: str | None, place: str | None
) -> str:
    if not is_incident:
        return f"[{reason}]"
    return f"[{category}/{body}/{place}]"


# --- classifying in a scratch database --------------------------------------------------------------


def _project_copy(target: Path, communities: dict[str | None, int]) -> Path:
    """A copy of the dbt project whose registry also lists the eval communities."""
    project = target / "dbt_project"
    shutil.copytree(
        settings().dbt_project_dir, project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages")
    )
    registry = project / "seeds" / "registry" / "monitored_communities.csv"
    with registry.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        columns = list(reader.fieldnames or [])
        rows = list(reader)
    with registry.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows + registry_rows(communities))
    return project


def _load_raw(messages: Sequence[LabelledMessage]) -> None:
    from socmon.warehouse import server
    from socmon.warehouse.loader import LoadResult, empty_raw, load_records

    started = time.monotonic()
    batches, _ = native_messages(messages)
    loaded = LoadResult()
    with server.connect("loader") as conn:
        empty_raw(conn)
        for batch in batches:
            result = load_records(conn, batch.table, batch.records, batch.source_id, "eval")
            if result.rejected:
                raise RuntimeError(f"the loader rejected {result.rejected} eval records of {batch.table}")
            loaded += result
        conn.commit()
    log.info("eval: %d raw records loaded in %.1f s", loaded.loaded, time.monotonic() - started)


def _run_dbt(project: Path, args: list[str]) -> None:
    from dbt.cli.main import dbtRunner

    from socmon.transform import dbt_environment

    os.environ.update(dbt_environment())
    cli_args = [*args, "--project-dir", str(project), "--profiles-dir", str(project), "--quiet"]
    result = dbtRunner().invoke(cli_args)
    if not result.success:
        raise RuntimeError(f"dbt {' '.join(args)} failed: {result.exception or 'see the dbt log'}")


def _predictions(messages: Sequence[LabelledMessage]) -> dict[str, Prediction]:
    from socmon.warehouse import server

    keys = message_keys(messages)
    with server.connect("admin") as conn:
        rows = conn.execute(
            """
            select
                classified.source_message_key,
                classified.is_incident,
                classified.non_incident_reason,
                classified.category_code,
                coalesce(
                    classified.responsible_body_code, classified.named_body_code, categories.default_body_code
                ),
                classified.municipality_code
            from intermediate.int_messages_classified as classified
            left join staging.categories as categories
                on categories.code = classified.category_code
            """
        ).fetchall()
    predictions = {keys[key].id: Prediction(*values) for key, *values in rows if key in keys}
    if missing := [m.id for m in messages if m.id not in predictions]:
        raise RuntimeError(f"{len(missing)} labelled messages were not classified, e.g. {missing[:5]}")
    return predictions


def classify(messages: Sequence[LabelledMessage], database: str | None = None) -> dict[str, Prediction]:
    """Classify labelled messages with the real dbt models in a scratch database."""
    from socmon.warehouse import roles, server

    server.up()
    with using_database(database or os.environ.get("SOCMON_EVAL_DATABASE", EVAL_DATABASE)):
        roles.ensure_database(server.credentials())
        _load_raw(messages)
        with tempfile.TemporaryDirectory(prefix="socmon-eval-") as folder:
            started = time.monotonic()
            project = _project_copy(Path(folder), community_ids(messages))
            _run_dbt(
                project,
                [
                    "build",
                    "--select",
                    "+int_messages_classified",
                    "--resource-type",
                    "seed",
                    "--resource-type",
                    "model",
                    "--full-refresh",
                    "--target-path",
                    str(Path(folder) / "target"),
                ],
            )
            log.info("eval: dbt build +int_messages_classified in %.1f s", time.monotonic() - started)
        return _predictions(messages)


def negative_share_setting() -> float:
    """The share of non-incidents in the real flow: SOCMON_EVAL_NEGATIVE_SHARE, default NEGATIVE_SHARE."""
    return float(os.environ.get("SOCMON_EVAL_NEGATIVE_SHARE", NEGATIVE_SHARE))


def run_evaluation(
    paths: Path | Sequence[Path] | None = None,
    *,
    show_errors: bool = False,
    negative_share: float | None = None,
) -> int:
    """Classify the labelled sets in one dbt build and print each set's figures; 0 when every set ran."""
    chosen = [paths] if isinstance(paths, Path) else list(paths or default_labelled_sets())
    if not chosen:
        print("no labelled sets: tests/data/incident_*_set.jsonl")
        return 1
    share = negative_share_setting() if negative_share is None else negative_share
    sets = {path: load_labelled_set(path) for path in chosen}
    everything = [message for messages in sets.values() for message in messages]
    if duplicated := [i for i, n in Counter(m.id for m in everything).items() if n > 1]:
        raise ValueError(f"ids repeated across the labelled sets: {duplicated[:5]}")
    print(f"classifying {len(everything)} labelled messages of {len(sets)} sets ...", flush=True)
    started = time.monotonic()
    predictions = classify(everything)
    print(f"classified in {time.monotonic() - started:.1f} s (load, dbt build, read back)\n", flush=True)
    for path, messages in sets.items():
        scores = measure(messages, predictions)
        title = f"{path.name} (sha256 {labelled_set_digest(path)})"
        print(format_report(title, scores, show_errors=show_errors, negative_share=share) + "\n", flush=True)
    return 0


def labelled_set_digest(path: Path) -> str:
    """A short digest of a labelled set, to tell which version the figures were measured on."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]
