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
    Scores,
    community_ids,
    default_labelled_sets,
    format_report,
    load_labelled_set,
    measure,
    message_keys,
    native_messages,
    negative_share_setting,
    registry_rows,
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
    assert len(dev_set) >= 2000
    incidents = [m for m in dev_set if m.is_incident]
    assert len(incidents) <= 0.3 * len(dev_set)  # at least 70 % of the messages are not incidents
    assert {m.category_code for m in incidents} == _codes("categories.csv")
    assert {m.non_incident_reason for m in dev_set if not m.is_incident} == _codes("non_incident_reasons.csv")
    municipalities = {m.municipality_code for m in dev_set if m.municipality_code}
    assert municipalities <= _codes("municipalities.csv")
    assert len(municipalities) >= 40
    bodies = {m.responsible_body_code for m in incidents}
    assert bodies <= _codes("executive_bodies.csv")
    assert len({m.id for m in dev_set}) == len(dev_set)


def test_the_held_out_part_is_as_realistic_and_apart():
    data = settings().project_dir / "tests" / "data"
    holdout = load_labelled_set(data / "incident_holdout_set.jsonl")
    assert len(holdout) >= 400
    assert sum(m.is_incident for m in holdout) <= 0.3 * len(holdout)
    assert {m.non_incident_reason for m in holdout if not m.is_incident} == _codes("non_incident_reasons.csv")
    assert len({m.category_code for m in holdout if m.is_incident}) >= 20
    assert {m.platform for m in holdout if m.kind == "comment"} == {"vk", "ok", "telegram"}
    development = {m.text for m in load_labelled_set(data / "incident_dev_set.jsonl")}
    assert not [m.id for m in holdout if m.text in development]  # no held-out text in the development part


def test_the_labelled_sets_come_in_every_native_shape(dev_set):
    shapes = Counter((m.platform, m.kind, m.author) for m in dev_set)
    for platform in ("vk", "ok", "telegram"):
        assert shapes[(platform, "comment", "citizen")] >= 50
        assert shapes[(platform, "comment", "official")] >= 2  # an answer in the thread
        assert shapes[(platform, "post", "community")] >= 5
    assert shapes[("vk", "post", "citizen")] >= 50 and shapes[("ok", "post", "citizen")] >= 50
    relayed = [m for m in dev_set if m.is_incident and m.author == "community"]
    assert len({m.platform for m in relayed}) == 3  # channels relaying their readers' complaints


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


def _records(messages: list[LabelledMessage], table: str) -> list[dict]:
    batches, _ = native_messages(messages)
    return [record for batch in batches if batch.table == table for record in batch.records]


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
    registered = {row["source_id"]: row["municipality_code"] for row in registry_rows(communities)}
    assert registered[f"vk:-{FIRST_EVAL_COMMUNITY_ID}"] == ""
    assert registered[f"vk:-{FIRST_EVAL_COMMUNITY_ID + 1}"] == "krasnodar"
    assert {source.split(":")[0] for source in registered} == {"vk", "ok", "telegram"}
    posts = {post["id"]: post for post in _records(messages, "vk_posts")}
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


def test_each_network_gets_its_native_shapes():
    messages = [
        _message("vk_comment", kind="comment", thread_text="Новости дня"),
        _message("ok_topic", platform="ok"),
        _message("ok_comment", platform="ok", kind="comment"),
        _message("channel_post", platform="telegram", author="community"),
        _message("discussion_reply", platform="telegram", kind="comment"),
        _message(
            "official_reply",
            platform="telegram",
            kind="comment",
            author="official",
            author_id=1800000002,
            is_incident=False,
            non_incident_reason="official_author",
        ),
    ]
    batches, keys = native_messages(messages)
    krasnodar = community_ids(messages)["krasnodar"]
    assert {key: message.id for key, message in keys.items()} == {
        f"vk:comment{krasnodar}_1000001_1": "vk_comment",
        "ok:topic/2": "ok_topic",
        "ok:comment/1000003/eval3": "ok_comment",
        "telegram:1910000001/4": "channel_post",
        "telegram:1920000001/5": "discussion_reply",
        "telegram:1920000001/6": "official_reply",
    }
    [comment] = _records(messages, "vk_comments")
    [thread_post] = _records(messages, "vk_posts")
    assert (comment["post_id"], comment["owner_id"]) == (thread_post["id"], thread_post["owner_id"])
    assert thread_post["text"] == "Новости дня" and thread_post["from_id"] == krasnodar
    topics = {topic["id"]: topic for topic in _records(messages, "ok_topics")}
    assert topics["2"]["author_ref"].startswith("user:") and topics["2"]["group_id"] == "91000000000001"
    assert topics["1000003"]["author_ref"] == "group:91000000000001"
    [ok_comment] = _records(messages, "ok_comments")
    assert (ok_comment["topic_id"], ok_comment["author_type"]) == (1000003, "USER")
    telegram = {(m["peer_id"]["channel_id"], m["id"]): m for m in _records(messages, "telegram_messages")}
    assert telegram[(1910000001, 4)]["post"] is True
    root = telegram[(1920000001, 2000005)]  # the group's copy of the post a reply answers
    assert root["fwd_from"]["saved_from_msg_id"] == 1000005 and telegram[(1910000001, 1000005)]["post"]
    reply = telegram[(1920000001, 5)]
    assert reply["reply_to"]["reply_to_msg_id"] == 2000005 and reply["from_id"]["_"] == "PeerUser"
    assert telegram[(1920000001, 6)]["from_id"] == {"_": "PeerChannel", "channel_id": 1800000002}
    assert {batch.source_id for batch in batches if batch.table == "telegram_messages"} == {
        "telegram:1910000001"
    }


@pytest.mark.parametrize(
    "changes, error",
    [
        ({"platform": "telegram", "author": "citizen"}, "channel post"),
        ({"platform": "max"}, "platform must be one of"),
        ({"kind": "story"}, "kind one of"),
        ({"thread_text": "Новости"}, "thread_text is for comments"),
        ({"author": "official", "is_incident": False, "non_incident_reason": "official_author"}, "author_id"),
    ],
)
def test_a_shape_the_networks_do_not_have_is_refused(changes, error):
    row = {
        "id": "x", "text": "Яма", "is_incident": True, "non_incident_reason": None, "category_code": "roads",
        "responsible_body_code": "mintrans", "municipality_code": None, "names_place": False,
    }  # fmt: skip
    with pytest.raises(ValueError, match=error):
        LabelledMessage.from_json({**row, **changes})


def _scores(tp: int, fn: int, fp: int, tn: int) -> Scores:
    return Scores(
        messages=tp + fn + fp + tn,
        true_positives=tp,
        false_negatives=fn,
        false_positives=fp,
        true_negatives=tn,
    )


def test_the_base_rate_weighs_false_positives_as_the_flow_would():
    scores = _scores(tp=40, fn=10, fp=10, tn=40)  # half incidents, as written
    assert scores.precision == pytest.approx(0.8)
    precision, recall, f1 = scores.at_base_rate(0.85)
    # an incident weighs 0.15 / 50, a non-incident 0.85 / 50: 40 * 0.003 / (40 * 0.003 + 10 * 0.017)
    assert precision == pytest.approx(0.12 / 0.29)
    assert recall == pytest.approx(0.8)
    assert f1 == pytest.approx(2 * (0.12 / 0.29) * 0.8 / (0.12 / 0.29 + 0.8))


def test_at_the_sets_own_base_rate_the_figures_are_as_written():
    scores = _scores(tp=30, fn=5, fp=12, tn=105)
    own_share = 117 / 152
    assert scores.at_base_rate(own_share) == pytest.approx((scores.precision, scores.recall, scores.f1))
    assert scores.at_base_rate(0.95)[0] < scores.at_base_rate(own_share)[0] < scores.at_base_rate(0.5)[0]


def test_the_base_rate_has_edge_cases():
    assert _scores(tp=10, fn=0, fp=0, tn=0).at_base_rate(0.85) == (1.0, 1.0, 1.0)  # no negatives to weigh
    assert _scores(tp=0, fn=0, fp=3, tn=7).at_base_rate(0.85) == (0.0, 0.0, 0.0)  # no incidents
    assert _scores(tp=0, fn=5, fp=0, tn=5).at_base_rate(0.85) == (0.0, 0.0, 0.0)
    for share in (1.0, -0.1):
        with pytest.raises(ValueError, match="share of non-incidents"):
            _scores(tp=1, fn=1, fp=1, tn=1).at_base_rate(share)


def test_the_negative_share_is_configurable(monkeypatch):
    assert negative_share_setting() == 0.85
    monkeypatch.setenv("SOCMON_EVAL_NEGATIVE_SHARE", "0.9")
    settings.cache_clear()  # the settings are read once per process: as a new one would
    try:
        assert negative_share_setting() == 0.9
    finally:
        monkeypatch.undo()
        settings.cache_clear()


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
    assert scores.reason_confusion == Counter(
        {("incident", "incident"): 2, ("incident", "not_about_authorities"): 1,
         ("advertising_spam", "incident"): 1, ("abusive", "abusive"): 1}
    )  # fmt: skip
    # 3 incidents and 2 non-incidents: at 85 % non-incidents one false positive outweighs both hits
    base_precision = (2 * 0.15 / 3) / (2 * 0.15 / 3 + 0.85 / 2)
    assert scores.at_base_rate()[0] == pytest.approx(base_precision)
    report = format_report("set", scores, show_errors=True)
    assert "precision 0.667  recall 0.667  F1 0.667  (as written)" in report
    assert f"at base rate    precision {base_precision:.3f}  recall 0.667" in report
    assert "F1 below the target 0.90, precision below the target 0.90" in report
    assert "  incident                           2            .            .            1     67%" in report
    assert "  advertising_spam                   1            .            .            .      0%" in report
    assert "waste -> roads: 1" in report
    assert "wrong_category: expected [waste/mintek/krasnodar], got [roads/mintrans/krasnodar]" in report
    assert "tp:" not in report
