"""The report-vs-talk score: a regularised logistic regression over the starts of a message's words.

The rules tell a category from a message's words, but everyday talk uses the same words ("ходили в парк,
детская площадка супер") without complaining. The score is learned from the development set only
(tests/data/incident_dev_set.jsonl; the held-out part is never read here):

- features: the distinct starts (first WORD_START_LENGTH letters) of the message's words, as
  int_message_tokens splits them (its content_words: without VK mention markup);
- the model: is_incident ~ intercept + sum of the weights of those starts, L2-regularised (C), fitted
  by L-BFGS from zero, deterministic; weights rounded, the negligible ones dropped;
- `socmon train-classifier` splits the dev set with the real dbt models in the eval scratch database,
  fits, and writes dbt_project/seeds/rules/report_score_weights.csv; int_message_report_scores sums the
  weights by one hash join and int_messages_classified turns a rules' incident whose score is below the
  seed's floor into not_about_authorities.

The floor and C were chosen by cross-validation on the development set (see the issue's note).
"""

from __future__ import annotations

import csv
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from socmon.config import settings
from socmon.evaluation_set import LabelledMessage, load_labelled_set
from socmon.evaluation_shapes import message_keys

log = logging.getLogger(__name__)

WORD_START_LENGTH = 5
REGULARISATION_C = 1.0
# a rules' incident whose score (log-odds) is below this becomes talk (not_about_authorities)
REPORT_SCORE_FLOOR = -1.5
WEIGHT_DECIMALS = 3
DEVELOPMENT_SET = Path("tests/data/incident_dev_set.jsonl")
SEED_PATH = Path("seeds/rules/report_score_weights.csv")  # under the dbt project
SEED_COLUMNS = ["feature_kind", "word_start", "weight"]


@dataclass(frozen=True)
class ReportModel:
    intercept: float
    weights: dict[str, float]  # word start -> weight
    floor: float = REPORT_SCORE_FLOOR

    def score(self, words: Sequence[str]) -> float:
        return self.intercept + sum(self.weights.get(start, 0.0) for start in word_starts(words))

    def seed_rows(self) -> list[dict[str, str]]:
        rows = [
            {"feature_kind": "intercept", "word_start": "", "weight": _number(self.intercept)},
            {"feature_kind": "floor", "word_start": "", "weight": _number(self.floor)},
        ]
        rows += [
            {"feature_kind": "word_start", "word_start": start, "weight": _number(weight)}
            for start, weight in sorted(self.weights.items())
        ]
        return rows


def _number(value: float) -> str:
    return f"{value:.{WEIGHT_DECIMALS}f}"


def word_starts(words: Sequence[str]) -> set[str]:
    """The distinct word starts of a message, as int_message_report_scores takes them (left(word, 5))."""
    return {word[:WORD_START_LENGTH] for word in words if word}


def fit(texts: Sequence[Sequence[str]], labels: Sequence[bool], c: float = REGULARISATION_C) -> ReportModel:
    """L2-regularised logistic regression of the labels on the texts' word starts (deterministic)."""
    from scipy import optimize, sparse

    features = [word_starts(words) for words in texts]
    vocabulary = {start: number for number, start in enumerate(sorted(set().union(*features)))}
    rows = [row for row, starts in enumerate(features) for _ in starts]
    columns = [vocabulary[start] for starts in features for start in sorted(starts)]
    matrix = sparse.csr_matrix((np.ones(len(rows)), (rows, columns)), shape=(len(features), len(vocabulary)))
    target = np.asarray(labels, dtype=float)

    def loss(parameters: np.ndarray) -> tuple[float, np.ndarray]:
        weights, intercept = parameters[:-1], parameters[-1]
        logits = matrix @ weights + intercept
        probabilities = 1 / (1 + np.exp(-logits))
        value = np.sum(np.logaddexp(0, logits) - target * logits) + 0.5 / c * weights @ weights
        residuals = probabilities - target
        gradient = np.append(matrix.T @ residuals + weights / c, np.sum(residuals))
        return float(value), gradient

    result = optimize.minimize(
        loss, np.zeros(len(vocabulary) + 1), jac=True, method="L-BFGS-B", options={"maxiter": 2000}
    )
    rounded = np.round(result.x, WEIGHT_DECIMALS)
    smallest = 10**-WEIGHT_DECIMALS
    weights = {start: float(rounded[n]) for start, n in vocabulary.items() if abs(rounded[n]) >= smallest}
    return ReportModel(intercept=float(rounded[-1]), weights=weights)


def read_seed(path: Path) -> ReportModel:
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    kinds = [(row["feature_kind"], row["word_start"], float(row["weight"])) for row in rows]
    values = {kind: weight for kind, _, weight in kinds if kind != "word_start"}
    weights = {start: weight for kind, start, weight in kinds if kind == "word_start"}
    return ReportModel(intercept=values["intercept"], weights=weights, floor=values["floor"])


def write_seed(model: ReportModel, path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=SEED_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(model.seed_rows())


def split_words(messages: Sequence[LabelledMessage], database: str | None = None) -> dict[str, list[str]]:
    """Each labelled message's words as int_message_tokens splits them (content_words), by message id."""
    from socmon.evaluation import scratch_build

    with scratch_build(messages, database, purpose="train"):
        return read_words(messages)


def read_words(messages: Sequence[LabelledMessage]) -> dict[str, list[str]]:
    """The labelled messages' content words from int_message_tokens of the current database."""
    from socmon.warehouse import server

    keys = message_keys(messages)
    with server.connect("transform") as conn:  # the role that wrote int_message_tokens
        rows = conn.execute(
            "select source_message_key, coalesce(content_words, words) from intermediate.int_message_tokens"
        ).fetchall()
    words = {keys[key].id: list(split) for key, split in rows if key in keys}
    if missing := [m.id for m in messages if m.id not in words]:
        raise RuntimeError(f"{len(missing)} labelled messages were not split, e.g. {missing[:5]}")
    return words


def train(messages: Sequence[LabelledMessage], words: dict[str, list[str]]) -> ReportModel:
    return fit([words[m.id] for m in messages], [m.is_incident for m in messages])


def run_training(development_set: Path | None = None, seed: Path | None = None) -> int:
    """`socmon train-classifier`: fit the score on the development set and write the seed."""
    path = development_set or settings().project_dir / DEVELOPMENT_SET
    if "holdout" in path.name:
        raise ValueError(f"{path}: the held-out part is never trained on")
    target = seed or settings().dbt_project_dir / SEED_PATH
    messages = load_labelled_set(path)
    started = time.monotonic()
    words = split_words(messages)
    model = train(messages, words)
    write_seed(model, target)
    print(
        f"trained on {len(messages)} messages of {path.name} in {time.monotonic() - started:.1f} s: "
        f"{len(model.weights)} word starts, intercept {model.intercept}, floor {model.floor} -> {target}"
    )
    return 0
