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
import logging
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from socmon.config import settings, using_database
from socmon.evaluation_set import (
    AUTHORS,
    DEFAULT_THREAD_TEXT,
    EVAL_DATABASE,
    FIRST_CITIZEN_ID,
    FIRST_EVAL_COMMUNITY_ID,
    FIRST_EVAL_DISCUSSION_ID,
    FIRST_EVAL_OK_GROUP_ID,
    FIRST_EVAL_TELEGRAM_CHANNEL_ID,
    KINDS,
    NEGATIVE_SHARE,
    PUBLISHED_FROM,
    TARGETS,
    THREAD_POST_OFFSET,
    THREAD_ROOT_OFFSET,
    LabelledMessage,
    Prediction,
    Scores,
    _share,
    default_labelled_sets,
    load_labelled_set,
)
from socmon.evaluation_shapes import (
    RawBatch,
    community_ids,
    discussion_id,
    message_keys,
    native_messages,
    ok_group_id,
    post_key,
    registry_rows,
    telegram_channel_id,
)

log = logging.getLogger(__name__)

__all__ = [
    "AUTHORS",
    "DEFAULT_THREAD_TEXT",
    "EVAL_DATABASE",
    "FIRST_CITIZEN_ID",
    "FIRST_EVAL_COMMUNITY_ID",
    "FIRST_EVAL_DISCUSSION_ID",
    "FIRST_EVAL_OK_GROUP_ID",
    "FIRST_EVAL_TELEGRAM_CHANNEL_ID",
    "KINDS",
    "NEGATIVE_SHARE",
    "PUBLISHED_FROM",
    "TARGETS",
    "THREAD_POST_OFFSET",
    "THREAD_ROOT_OFFSET",
    "LabelledMessage",
    "Prediction",
    "RawBatch",
    "Scores",
    "community_ids",
    "default_labelled_sets",
    "discussion_id",
    "load_labelled_set",
    "message_keys",
    "native_messages",
    "ok_group_id",
    "post_key",
    "registry_rows",
    "telegram_channel_id",
]

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
    from socmon.dbt_process import invoke_dbt

    invoke_dbt([*args, "--quiet"], project=project)


def _predictions(messages: Sequence[LabelledMessage]) -> dict[str, Prediction]:
    from socmon.warehouse import server

    keys = message_keys(messages)
    with server.connect("transform") as conn:  # what the eval's dbt build wrote, as the role that wrote it
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


@contextmanager
def scratch_build(
    messages: Sequence[LabelledMessage], database: str | None = None, purpose: str = "eval"
) -> Iterator[None]:
    """Load labelled messages into a scratch database and classify them there with the real dbt models
    (the whole ancestry of int_messages_classified: every rule model's rule_version digests every rule
    seed); inside the block, connections go to that database."""
    from socmon.warehouse import roles, server

    server.up()
    with using_database(database or settings().eval_database):
        roles.ensure_database(server.credentials())
        _load_raw(messages)
        with tempfile.TemporaryDirectory(prefix=f"socmon-{purpose}-") as folder:
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
            log.info("%s: dbt build +int_messages_classified in %.1f s", purpose, time.monotonic() - started)
        yield


def classify(messages: Sequence[LabelledMessage], database: str | None = None) -> dict[str, Prediction]:
    """Classify labelled messages with the real dbt models in a scratch database."""
    with scratch_build(messages, database):
        return _predictions(messages)


def negative_share_setting() -> float:
    """The share of non-incidents in the real flow: SOCMON_EVAL_NEGATIVE_SHARE, default NEGATIVE_SHARE."""
    return settings().eval_negative_share


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
