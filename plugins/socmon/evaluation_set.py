"""The labelled messages of `socmon eval` (tests/data/incident_*_set.jsonl) and the scores measured on
them; the evaluation itself is `socmon.evaluation`."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from socmon.config import settings
from socmon.constants import PLATFORMS

EVAL_DATABASE = "socmon_eval"
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
