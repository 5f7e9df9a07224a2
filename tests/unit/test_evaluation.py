"""The labelled sets and the figures of `socmon eval` (plugins/socmon/evaluation.py), without a database."""

import csv
import json
from collections import Counter
from pathlib import Path

import pytest

from socmon.config import settings
from socmon.evaluation import (
    FIRST_EVAL_COMMUNITY_ID,
    LabelledMessage,
    Prediction,
    community_ids,
    default_labelled_sets,
    format_report,
    load_labelled_set,
    measure,
    message_keys,
    registry_rows,
    vk_posts,
)

SEEDS = settings().dbt_project_dir / "seeds" / "domain"


def _codes(name: str) -> set[str]:
    with (SEEDS / name).open(encoding="utf-8", newline="") as f:
        return {row["code"] for row in csv.DictReader(f)}


@pytest.fixture(scope="module")
def dev_set() -> list[LabelledMessage]:
    return load_labelled_set(settings().project_dir / "tests" / "data" / "incident_dev_set.jsonl")


def test_the_labelled_sets_are_found():
    names = [path.name for path in default_labelled_sets()]
    assert names == ["incident_dev_set.jsonl", "incident_holdout_set.jsonl"]


def test_the_development_set_covers_the_vocabulary(dev_set):
    assert len(dev_set) >= 400
    incidents = [m for m in dev_set if m.is_incident]
    assert {m.category_code for m in incidents} == _codes("categories.csv")
    assert {m.non_incident_reason for m in dev_set if not m.is_incident} == _codes("non_incident_reasons.csv")
    municipalities = {m.municipality_code for m in dev_set if m.municipality_code}
    assert municipalities <= _codes("municipalities.csv")
    assert len(municipalities) >= 40
    bodies = {m.responsible_body_code for m in incidents}
    assert bodies <= _codes("executive_bodies.csv")
    assert len({m.id for m in dev_set}) == len(dev_set)


def test_the_development_set_has_hard_cases(dev_set):
    texts = [m.text for m in dev_set]
    assert sum(text.isupper() or "!!!" in text for text in texts) >= 5  # shouting
    assert sum("#" in text for text in texts) >= 5  # hashtags
    assert sum("@" in text or "[id" in text or "[club" in text for text in texts) >= 4  # mentions, replies
    assert sum(any(ord(ch) > 0x2600 for ch in text) for text in texts) >= 20  # emoji
    assert Counter(m.author for m in dev_set)["official"] >= 10  # news by officials
    reasons = Counter(m.non_incident_reason for m in dev_set if not m.is_incident)
    assert reasons["out_of_scope"] >= 20 and reasons["advertising_spam"] >= 20


def test_a_bad_line_is_refused(tmp_path: Path):
    path = tmp_path / "bad.jsonl"
    row = {"id": "x", "text": "Яма", "is_incident": False, "non_incident_reason": None, "category_code": None,
           "responsible_body_code": None, "municipality_code": None, "names_place": False}  # fmt: skip
    path.write_text(json.dumps(row, ensure_ascii=False) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.jsonl:1"):
        load_labelled_set(path)


def _message(id_: str, **kwargs) -> LabelledMessage:
    values = dict(
        text="текст", is_incident=True, non_incident_reason=None, category_code="roads",
        responsible_body_code="mintrans", municipality_code="krasnodar", names_place=True,
        community_municipality_code="krasnodar",
    )  # fmt: skip
    values.update(kwargs)
    return LabelledMessage(id=id_, **values)


def test_messages_become_posts_on_their_communities_walls():
    messages = [
        _message("a"),
        _message("b", community_municipality_code=None),
        _message(
            "c",
            author="official",
            author_id=-200002,
            is_incident=False,
            non_incident_reason="official_author",
        ),
        _message("d", author="community", is_incident=False, non_incident_reason="not_about_authorities"),
        _message("e", author_id=7001, published_offset_hours=50),
    ]
    communities = community_ids(messages)
    assert communities == {None: -FIRST_EVAL_COMMUNITY_ID, "krasnodar": -(FIRST_EVAL_COMMUNITY_ID + 1)}
    assert {row["source_id"]: row["municipality_code"] for row in registry_rows(communities)} == {
        f"vk:-{FIRST_EVAL_COMMUNITY_ID}": "",
        f"vk:-{FIRST_EVAL_COMMUNITY_ID + 1}": "krasnodar",
    }
    posts = {post["id"]: post for wall in vk_posts(messages).values() for post in wall}
    krasnodar = communities["krasnodar"]
    assert (posts[1]["owner_id"], posts[2]["owner_id"], posts[3]["owner_id"]) == (
        krasnodar,
        communities[None],
        -200002,
    )
    assert posts[3]["from_id"] == -200002  # an official account on its own wall
    assert posts[4]["from_id"] == krasnodar  # the community itself
    assert posts[1]["from_id"] > 0 and posts[1]["from_id"] != posts[2]["from_id"]  # distinct citizens
    assert posts[5]["from_id"] == 7001 and posts[5]["date"] - posts[1]["date"] == 50 * 3600 - 60
    assert message_keys(messages)[f"vk:wall{krasnodar}_1"].id == "a"


def test_measure_counts_what_the_report_prints():
    messages = [
        _message("tp"),
        _message("wrong_category", category_code="waste", responsible_body_code="mintek"),
        _message("fn", municipality_code="sochi"),
        _message("fp", is_incident=False, non_incident_reason="advertising_spam", category_code=None),
        _message(
            "tn", is_incident=False, non_incident_reason="abusive", category_code=None, names_place=False
        ),
    ]
    predictions = {
        "tp": Prediction(True, None, "roads", "mintrans", "krasnodar"),
        "wrong_category": Prediction(True, None, "roads", "mintrans", "krasnodar"),
        "fn": Prediction(False, "not_about_authorities", "roads", "mintrans", "sochi"),
        "fp": Prediction(True, None, "trade", "dep_consumer", "krasnodar"),
        "tn": Prediction(False, "abusive", None, None, "krasnodar"),
    }
    scores = measure(messages, predictions)
    assert (scores.true_positives, scores.false_positives, scores.false_negatives, scores.true_negatives) == (
        2,
        1,
        1,
        1,
    )
    assert scores.precision == pytest.approx(2 / 3) and scores.recall == pytest.approx(2 / 3)
    assert scores.f1 == pytest.approx(2 / 3)
    assert scores.category_accuracy == pytest.approx(2 / 3)  # over the 3 true incidents, found or not
    assert scores.body_accuracy == pytest.approx(2 / 3)
    assert scores.municipality_accuracy == 1.0
    assert scores.reason_accuracy == pytest.approx(1 / 2)
    assert scores.category_confusion == Counter({("waste", "roads"): 1})
    report = format_report("set", scores, show_errors=True)
    assert "precision 0.667  recall 0.667  F1 0.667  (below the target 0.85)" in report
    assert "waste -> roads: 1" in report
    assert "wrong_category: expected [waste/mintek/krasnodar], got [roads/mintrans/krasnodar]" in report
    assert "tp:" not in report
