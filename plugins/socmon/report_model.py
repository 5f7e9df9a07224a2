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

The learned category score, the same way: a multinomial (softmax) L2 logistic regression of the category
over the same word starts, fitted on the development set's incidents only, written to
dbt_project/seeds/rules/category_score_weights.csv (each word start's weights shifted by their median,
which changes no probability, and those below CATEGORY_WEIGHT_FLOOR in size dropped).
int_message_category_scores ranks each message's categories by it; int_messages_classified lets it break
the keyword rules' ties, overrule a keyword lead of one point when it is sure (probability 0.6), and name
the category of a report whose words no keyword knows. Cross-validated on
the development set, it does little better than the keywords there (they were written next to those
lines), but on lines the keywords were not tuned on it is right where the keywords tie or miss.
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
CATEGORY_REGULARISATION_C = 3.0
# smaller weights change a category's rank on almost no message and would make the seed five times longer
CATEGORY_WEIGHT_FLOOR = 0.05
CATEGORY_SEED_PATH = Path("seeds/rules/category_score_weights.csv")  # under the dbt project
CATEGORY_SEED_COLUMNS = ["feature_kind", "word_start", "category_code", "weight"]


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


@dataclass(frozen=True)
class CategoryModel:
    intercepts: dict[str, float]  # category -> intercept
    weights: dict[tuple[str, str], float]  # (word start, category) -> weight

    def scores(self, words: Sequence[str]) -> dict[str, float]:
        starts = word_starts(words)
        scores = dict(self.intercepts)
        for (start, category), weight in self.weights.items():
            if start in starts:
                scores[category] += weight
        return scores

    def ranking(self, words: Sequence[str]) -> list[str]:
        """The categories, most likely first (ties by code), as int_message_category_scores ranks them."""
        scores = self.scores(words)
        return sorted(scores, key=lambda category: (-scores[category], category))

    def seed_rows(self) -> list[dict[str, str]]:
        rows = [
            {"feature_kind": "intercept", "word_start": "", "category_code": code, "weight": _number(weight)}
            for code, weight in sorted(self.intercepts.items())
        ]
        rows += [
            {
                "feature_kind": "word_start",
                "word_start": start,
                "category_code": code,
                "weight": _number(weight),
            }
            for (start, code), weight in sorted(self.weights.items())
        ]
        return rows


def fit_categories(
    texts: Sequence[Sequence[str]], categories: Sequence[str], c: float = CATEGORY_REGULARISATION_C
) -> CategoryModel:
    """Multinomial L2-regularised logistic regression of the categories on the texts' word starts."""
    from scipy import optimize, sparse

    features = [word_starts(words) for words in texts]
    vocabulary = {start: number for number, start in enumerate(sorted(set().union(*features)))}
    classes = sorted(set(categories))
    rows = [row for row, starts in enumerate(features) for _ in starts]
    columns = [vocabulary[start] for starts in features for start in sorted(starts)]
    matrix = sparse.csr_matrix((np.ones(len(rows)), (rows, columns)), shape=(len(features), len(vocabulary)))
    target = np.zeros((len(texts), len(classes)))
    target[np.arange(len(texts)), [classes.index(category) for category in categories]] = 1
    size = len(vocabulary) * len(classes)

    def loss(parameters: np.ndarray) -> tuple[float, np.ndarray]:
        weights = parameters[:size].reshape(len(vocabulary), len(classes))
        logits = matrix @ weights + parameters[size:]
        logits -= logits.max(axis=1, keepdims=True)
        log_probabilities = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        residuals = np.exp(log_probabilities) - target
        value = -np.sum(target * log_probabilities) + 0.5 / c * np.sum(weights * weights)
        gradient = np.concatenate([(matrix.T @ residuals + weights / c).ravel(), residuals.sum(axis=0)])
        return float(value), gradient

    result = optimize.minimize(
        loss, np.zeros(size + len(classes)), jac=True, method="L-BFGS-B", options={"maxiter": 5000}
    )
    weights = result.x[:size].reshape(len(vocabulary), len(classes))
    # a word start's weights shifted by their median: the same softmax (a constant added to every category's
    # score changes no probability), but most of them near zero, and dropped, so that a message touches a
    # third fewer weights in the warehouse
    weights = np.round(weights - np.median(weights, axis=1, keepdims=True), WEIGHT_DECIMALS)
    intercepts = np.round(result.x[size:], WEIGHT_DECIMALS)
    return CategoryModel(
        intercepts={category: float(intercepts[k]) for k, category in enumerate(classes)},
        weights={
            (start, category): float(weights[n, k])
            for start, n in vocabulary.items()
            for k, category in enumerate(classes)
            if abs(weights[n, k]) >= CATEGORY_WEIGHT_FLOOR
        },
    )


def read_category_seed(path: Path) -> CategoryModel:
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    return CategoryModel(
        intercepts={
            row["category_code"]: float(row["weight"]) for row in rows if row["feature_kind"] == "intercept"
        },
        weights={
            (row["word_start"], row["category_code"]): float(row["weight"])
            for row in rows
            if row["feature_kind"] == "word_start"
        },
    )


def write_category_seed(model: CategoryModel, path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=CATEGORY_SEED_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(model.seed_rows())


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


def train_categories(messages: Sequence[LabelledMessage], words: dict[str, list[str]]) -> CategoryModel:
    """The category score, fitted on the incidents only (the others have no category label)."""
    incidents = [m for m in messages if m.is_incident and m.category_code]
    return fit_categories([words[m.id] for m in incidents], [str(m.category_code) for m in incidents])


def run_training(
    development_set: Path | None = None, seed: Path | None = None, category_seed: Path | None = None
) -> int:
    """`socmon train-classifier`: fit the scores on the development set and write their seeds."""
    path = development_set or settings().project_dir / DEVELOPMENT_SET
    if "holdout" in path.name:
        raise ValueError(f"{path}: the held-out part is never trained on")
    target = seed or settings().dbt_project_dir / SEED_PATH
    category_target = category_seed or settings().dbt_project_dir / CATEGORY_SEED_PATH
    messages = load_labelled_set(path)
    started = time.monotonic()
    words = split_words(messages)
    model = train(messages, words)
    write_seed(model, target)
    category_model = train_categories(messages, words)
    write_category_seed(category_model, category_target)
    print(
        f"trained on {len(messages)} messages of {path.name} in {time.monotonic() - started:.1f} s: "
        f"{len(model.weights)} word starts, intercept {model.intercept}, floor {model.floor} -> {target}; "
        f"{len(category_model.intercepts)} categories, {len(category_model.weights)} weights "
        f"-> {category_target}"
    )
    return 0
