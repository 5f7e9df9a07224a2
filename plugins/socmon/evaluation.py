"""`socmon eval`: the classifier measured against labelled messages (tests/data/incident_*_set.jsonl).

Each labelled message is loaded as a VK post into the raw layer of a scratch database
(`SOCMON_EVAL_DATABASE`, default `socmon_eval`), on the wall of a monitored community of its own
municipality, and the real dbt models classify it (`dbt build --select +int_messages_classified`, in a
copy of the dbt project whose registry also lists those eval communities). The report gives:

- precision, recall and F1 of `is_incident`, and the accuracy of the non-incident reason;
- on true incidents: the accuracy of the category, of the responsible body (as the message would be
  routed: a body named in the text, else the category's default), and of the municipality where the
  text names a place;
- the confusion between categories.

A labelled line (JSON) holds: id, text, platform, community_municipality_code, author (citizen, official
or community), optionally author_id and published_offset_hours (the same citizen writing again), and the
expected is_incident, non_incident_reason, category_code, responsible_body_code, municipality_code and
names_place.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from socmon.config import settings

EVAL_DATABASE = "socmon_eval"
PUBLISHED_FROM = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)  # a Monday morning in Moscow
FIRST_EVAL_COMMUNITY_ID = 910_000  # the eval's communities: -910000 (no municipality), -910001, ...
FIRST_CITIZEN_ID = 50_000_000
TARGETS = {"incident_f1": 0.85, "category": 0.80, "body": 0.80, "municipality": 0.85}
AUTHORS = ("citizen", "official", "community")


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

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LabelledMessage:
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        message = cls(**known)
        if message.author not in AUTHORS:
            raise ValueError(f"{message.id}: author must be one of {AUTHORS}, not {message.author!r}")
        if message.is_incident == (message.non_incident_reason is not None):
            raise ValueError(f"{message.id}: a non-incident needs a reason, an incident none")
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


# --- the messages as VK posts -----------------------------------------------------------------------


def community_ids(messages: Sequence[LabelledMessage]) -> dict[str | None, int]:
    """One eval community (a VK owner id) per community municipality; None = a krai-wide community."""
    codes = sorted({m.community_municipality_code for m in messages if m.community_municipality_code})
    ids: dict[str | None, int] = {None: -FIRST_EVAL_COMMUNITY_ID}
    ids.update({code: -(FIRST_EVAL_COMMUNITY_ID + n) for n, code in enumerate(codes, start=1)})
    return ids


def registry_rows(communities: dict[str | None, int]) -> list[dict[str, str]]:
    """monitored_communities.csv rows for the eval communities."""
    return [
        {
            "source_id": f"vk:{owner_id}",
            "platform": "vk",
            "community_id": str(-owner_id),
            "screen_name": f"eval_{code or 'kuban'}",
            "name_ru": f"Оценка: {code or 'Кубань'}",
            "municipality_code": code or "",
        }
        for code, owner_id in communities.items()
    ]


def vk_posts(messages: Sequence[LabelledMessage]) -> dict[int, list[dict[str, Any]]]:
    """The messages as VK wall posts (wall.get objects), by wall owner id, in the labelled order.

    A citizen's post is on the wall of their municipality's eval community; an official's on its own
    wall; a community's is published by the community. Each message is a minute after the previous one,
    unless it gives published_offset_hours (hours after the set's start), so that repeats by one
    author fall in (or out of) the duplicate window as labelled.
    """
    communities = community_ids(messages)
    walls: dict[int, list[dict[str, Any]]] = {}
    for number, message in enumerate(messages, start=1):
        community = communities[message.community_municipality_code]
        if message.author == "official":
            if message.author_id is None:
                raise ValueError(
                    f"{message.id}: an official message needs author_id (a registered VK account)"
                )
            owner_id = from_id = message.author_id
        elif message.author == "community":
            owner_id = from_id = community
        else:
            owner_id, from_id = community, message.author_id or FIRST_CITIZEN_ID + number
        offset = (
            timedelta(hours=message.published_offset_hours)
            if message.published_offset_hours is not None
            else timedelta(minutes=number)
        )
        walls.setdefault(owner_id, []).append(
            {
                "id": number,
                "owner_id": owner_id,
                "from_id": from_id,
                "date": int((PUBLISHED_FROM + offset).timestamp()),
                "text": message.text,
                "post_type": "post",
                "marked_as_ads": 0,
            }
        )
    return walls


def post_key(owner_id: int, post_id: int) -> str:
    return f"vk:wall{owner_id}_{post_id}"


def message_keys(messages: Sequence[LabelledMessage]) -> dict[str, LabelledMessage]:
    """source_message_key → labelled message, as vk_posts() publishes them."""
    by_number = {number: message for number, message in enumerate(messages, start=1)}
    return {
        post_key(post["owner_id"], post["id"]): by_number[post["id"]]
        for posts in vk_posts(messages).values()
        for post in posts
    }


# --- measuring --------------------------------------------------------------------------------------


def measure(messages: Sequence[LabelledMessage], predictions: dict[str, Prediction]) -> Scores:
    """Compare predictions (by labelled message id) with the labels."""
    scores = Scores()
    for message in messages:
        predicted = predictions[message.id]
        scores.messages += 1
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


def format_report(title: str, scores: Scores, show_errors: bool = False) -> str:
    def mark(value: float, target: str) -> str:
        return "ok" if value >= TARGETS[target] else f"below the target {TARGETS[target]:.2f}"

    non_incidents = scores.true_negatives + scores.false_positives
    lines = [
        f"== {title}: {scores.messages} messages, {scores.incidents} incidents",
        f"is_incident     precision {scores.precision:.3f}  recall {scores.recall:.3f}  "
        f"F1 {scores.f1:.3f}  ({mark(scores.f1, 'incident_f1')})",
        f"                tp {scores.true_positives}  fp {scores.false_positives}  "
        f"fn {scores.false_negatives}  tn {scores.true_negatives}",
        f"reason          accuracy {scores.reason_accuracy:.3f} on {non_incidents} non-incidents",
        f"category        accuracy {scores.category_accuracy:.3f} on {scores.incidents} incidents  "
        f"({mark(scores.category_accuracy, 'category')})",
        f"body            accuracy {scores.body_accuracy:.3f} on {scores.incidents} incidents  "
        f"({mark(scores.body_accuracy, 'body')})",
        f"municipality    accuracy {scores.municipality_accuracy:.3f} on {scores.placed_incidents} incidents "
        f"naming a place  ({mark(scores.municipality_accuracy, 'municipality')})",
    ]
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


def _outcome(
    is_incident: bool, reason: str | None, category: str | None, body: str | None, place: str | None
) -> str:
    if not is_incident:
        return f"[{reason}]"
    return f"[{category}/{body}/{place}]"


# --- classifying in a scratch database --------------------------------------------------------------


@contextmanager
def _database(name: str) -> Iterator[None]:
    """Point socmon's settings at another database of the same cluster for the duration."""
    previous = os.environ.get("SOCMON_PG_DATABASE")
    os.environ["SOCMON_PG_DATABASE"] = name
    settings.cache_clear()
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("SOCMON_PG_DATABASE", None)
        else:
            os.environ["SOCMON_PG_DATABASE"] = previous
        settings.cache_clear()


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
    from socmon.warehouse.loader import empty_raw, load_records

    with server.connect("loader") as conn:
        empty_raw(conn)
        for owner_id, posts in vk_posts(messages).items():
            load_records(conn, "vk_posts", posts, f"vk:{owner_id}", "eval")
        conn.commit()


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
    with _database(database or os.environ.get("SOCMON_EVAL_DATABASE", EVAL_DATABASE)):
        roles.ensure_database(server.credentials())
        _load_raw(messages)
        with tempfile.TemporaryDirectory(prefix="socmon-eval-") as folder:
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
        return _predictions(messages)


def run_evaluation(paths: Path | Sequence[Path] | None = None, *, show_errors: bool = False) -> int:
    """Classify each labelled set and print its figures; 0 when every set ran."""
    chosen = [paths] if isinstance(paths, Path) else list(paths or default_labelled_sets())
    if not chosen:
        print("no labelled sets: tests/data/incident_*_set.jsonl")
        return 1
    for path in chosen:
        messages = load_labelled_set(path)
        scores = measure(messages, classify(messages))
        title = f"{path.name} (sha256 {labelled_set_digest(path)})"
        print(format_report(title, scores, show_errors=show_errors), flush=True)
    return 0


def labelled_set_digest(path: Path) -> str:
    """A short digest of a labelled set, to tell which version the figures were measured on."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]
