"""The sandbox world: deterministic, realistic, and its labels tell the truth about its messages."""

from __future__ import annotations

import csv
import re
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest

from socmon.config import settings
from socmon_sandbox import World, generate_world, texts

START = date(2026, 11, 24)  # a Tuesday
DAYS = 3
MOSCOW = timezone(timedelta(hours=3))
MARKUP = re.compile(r"\[(?:id|club)\d+\|[^\]]*\]")
CYRILLIC = re.compile(r"[а-яё]", re.IGNORECASE)
LETTER = re.compile(r"[^\W\d_]")


def read_seed(folder: str, name: str) -> list[dict[str, str]]:
    with (settings().dbt_project_dir / "seeds" / folder / name).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def vk_rows(registry_file: str) -> list[dict[str, str]]:
    """The registry's VK rows: the VK world's communities and accounts."""
    return [row for row in read_seed("registry", registry_file) if row["platform"] == "vk"]


def owner_of(source_message_key: str) -> int:
    match = re.match(r"vk:(?:wall|comment)(-?\d+)_", source_message_key)
    assert match, source_message_key
    return int(match[1])


@pytest.fixture(scope="module")
def world() -> World:
    return generate_world(START, DAYS)


@pytest.fixture(scope="module")
def messages(world: World) -> dict[str, dict[str, Any]]:
    """Every post and comment of the world by its source_message_key."""
    found: dict[str, dict[str, Any]] = {}
    for owner_id, posts in world.vk_posts.items():
        for post in posts:
            found[f"vk:wall{owner_id}_{post['id']}"] = post
    for (owner_id, post_id), comments in world.vk_comments.items():
        for comment in comments:
            for item in (comment, *comment["thread"]["items"]):
                found[f"vk:comment{owner_id}_{post_id}_{item['id']}"] = item
    return found


@pytest.fixture(scope="module")
def incidents(world: World) -> list[dict[str, Any]]:
    return [label for label in world.labels if label["is_incident"]]


def test_the_same_seed_gives_the_same_world_and_another_seed_another() -> None:
    first, again = generate_world(START, 1, seed=7), generate_world(START, 1, seed=7)
    other = generate_world(START, 1, seed=8)
    assert first == again
    assert first.vk_posts != other.vk_posts
    assert first.labels != other.labels


def test_every_message_has_exactly_one_label(world, messages) -> None:
    keys = [label["source_message_key"] for label in world.labels]
    assert len(keys) == len(set(keys))
    assert set(keys) == set(messages)


def test_citizens_write_40_to_80_messages_a_day_about_half_of_them_incidents(world, messages) -> None:
    labels = {label["source_message_key"]: label for label in world.labels}
    per_day: Counter[date] = Counter()
    kinds: Counter[str] = Counter()
    for key, message in messages.items():
        if message["from_id"] > 0 and datetime.fromtimestamp(message["date"], MOSCOW).date() >= START:
            per_day[datetime.fromtimestamp(message["date"], MOSCOW).date()] += 1
            kinds[labels[key]["kind"]] += 1
    assert sorted(per_day) == [START + timedelta(days=d) for d in range(DAYS)]
    assert all(40 <= count <= 80 for count in per_day.values()), per_day
    assert 0.45 <= kinds["incident"] / sum(kinds.values()) <= 0.7, kinds  # about 55 %, give or take a day
    assert {"chat", "ad", "out_of_scope", "abusive", "duplicate"} <= set(kinds)


def test_every_category_is_complained_about_within_three_days(incidents) -> None:
    categories = {row["code"] for row in read_seed("domain", "categories.csv")}
    assert {label["category_code"] for label in incidents} == categories


def test_incidents_name_a_place_of_their_municipality(world, messages, incidents) -> None:
    places: dict[str, set[str]] = defaultdict(set)
    for row in read_seed("domain", "settlements.csv"):
        name = row["name_ru"]
        places[row["municipality_code"]].add(texts.CITY_LOCATIVES.get(name, name))
    community_municipality = {
        -int(row["community_id"]): row["municipality_code"]
        for row in read_seed("registry", "monitored_communities.csv")
    }
    for label in incidents:
        mention = label["place_mention"]
        assert any(place in mention for place in places[label["municipality_code"]]), label
        assert mention.casefold() in messages[label["source_message_key"]]["text"].casefold()
        owner_id = owner_of(label["source_message_key"])
        if community_municipality.get(owner_id):
            assert label["municipality_code"] == community_municipality[owner_id]


def test_walls_list_posts_newest_first_with_ids_growing_with_time(world) -> None:
    for owner_id, posts in world.vk_posts.items():
        assert [p["date"] for p in posts] == sorted((p["date"] for p in posts), reverse=True)
        assert [p["id"] for p in posts] == sorted({p["id"] for p in posts}, reverse=True)
        assert sum(p.get("is_pinned", 0) for p in posts) == 1, owner_id
        assert posts[-1].get("is_pinned") == 1, "the pinned post is the oldest one"
        comment_ids = [
            item["id"]
            for (owner, _), comments in world.vk_comments.items()
            if owner == owner_id
            for comment in comments
            for item in (comment, *comment["thread"]["items"])
        ]
        assert len(set(comment_ids) | {p["id"] for p in posts}) == len(comment_ids) + len(posts)


def test_comment_counts_and_threads_hold_together(world) -> None:
    for owner_id, posts in world.vk_posts.items():
        for post in posts:
            comments = world.vk_comments.get((owner_id, post["id"]), [])
            assert post["comments"]["count"] == len(comments) + sum(c["thread"]["count"] for c in comments)
            for comment in comments:
                assert comment["parents_stack"] == [] and comment["date"] > post["date"]
                for reply in comment["thread"]["items"]:
                    assert reply["parents_stack"] == [comment["id"]]
                    assert reply["date"] > comment["date"]
                    replied_to = reply["reply_to_user"]
                    markup = f"[id{replied_to}|" if replied_to > 0 else f"[club{-replied_to}|"
                    assert reply["text"].startswith(markup), reply["text"]


def test_some_incidents_are_answered_on_time_some_late_some_not_at_all(incidents) -> None:
    timings = Counter(label["answer_timing"] for label in incidents)
    assert timings["on_time"] >= 5 and timings["late"] >= 3 and timings[None] >= 20, timings


def test_answers_come_from_the_responsible_body_in_the_thread(world, messages, incidents) -> None:
    account_of_body = {row["body_code"]: -int(row["account_id"]) for row in vk_rows("official_accounts.csv")}
    default_body = {row["code"]: row["default_body_code"] for row in read_seed("domain", "categories.csv")}
    communities = {
        -int(row["community_id"])
        for row in read_seed("registry", "monitored_communities.csv")
        if row["platform"] == "vk"
    }
    answers: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for label in world.labels:
        if label["kind"] == "official_answer":
            answers[label["answers_key"]].append(messages[label["source_message_key"]])
    for label in incidents:
        key, incident = label["source_message_key"], messages[label["source_message_key"]]
        if label["answered_by"] is None:
            assert key not in answers
            continue
        first = min(answers[key], key=lambda answer: answer["date"])
        assert first["from_id"] == account_of_body[label["answered_by"]]
        assert label["answer_delay_minutes"] == (first["date"] - incident["date"]) // 60
        if owner_of(key) in communities:
            assert label["answered_by"] == default_body[label["category_code"]]
        else:  # a question under the official account's own post: the account answers it
            assert first["from_id"] == owner_of(key)
        if key.startswith("vk:comment"):
            assert all(answer["parents_stack"] == [incident["id"]] for answer in answers[key])
        else:
            assert all(
                answer["post_id"] == incident["id"] and not answer["parents_stack"] for answer in answers[key]
            )


def test_at_least_one_official_account_posts_nothing_in_the_period(world) -> None:
    period_start = datetime.combine(START, datetime.min.time(), MOSCOW).timestamp()
    accounts = [
        -int(row["account_id"])
        for row in read_seed("registry", "official_accounts.csv")
        if row["platform"] == "vk"
    ]
    posts_in_period = {
        owner_id: sum(1 for p in world.vk_posts[owner_id] if p["date"] >= period_start)
        for owner_id in accounts
    }
    assert 0 in posts_in_period.values()
    assert max(posts_in_period.values()) >= 2 * DAYS, "the busiest account posts a few times a day"


def test_duplicates_repeat_an_earlier_complaint_of_the_same_citizen(world, messages) -> None:
    duplicates = [label for label in world.labels if label["kind"] == "duplicate"]
    assert duplicates
    for label in duplicates:
        repeated, original = messages[label["source_message_key"]], messages[label["duplicate_of"]]
        assert repeated["from_id"] == original["from_id"] and repeated["date"] > original["date"]
        assert original["text"] in repeated["text"] and not label["is_incident"]


def test_messages_are_russian_utf8_and_mostly_in_moscow_daytime(world, messages) -> None:
    hours: Counter[int] = Counter()
    for message in messages.values():
        text = MARKUP.sub("", message["text"])
        letters = LETTER.findall(text)
        assert CYRILLIC.search(text), message["text"]
        assert sum(1 for ch in letters if CYRILLIC.match(ch)) / len(letters) >= 0.8, message["text"]
        assert text.encode("utf-8").decode("utf-8") == text and "Ð" not in text
        hours[datetime.fromtimestamp(message["date"], MOSCOW).hour] += 1
    night = sum(hours[h] for h in range(7))
    assert 0 < night < 0.15 * sum(hours.values())
    names = [g["name"] for g in world.vk_groups.values()] + [u["first_name"] for u in world.vk_users.values()]
    assert all(CYRILLIC.search(name) for name in names)


def test_the_snapshot_ends_with_the_period(world, messages) -> None:
    assert all(message["date"] < world.end.timestamp() for message in messages.values())
    assert world.end == datetime(2026, 11, 27, tzinfo=MOSCOW)


def test_each_complaint_names_its_place_and_has_its_own_final_answer() -> None:
    assert set(texts.FINAL_ANSWERS) == set(texts.INCIDENT_TEMPLATES)
    for category, complaints in texts.INCIDENT_TEMPLATES.items():
        assert len(texts.FINAL_ANSWERS[category]) == len(complaints), category
        assert all("{where}" in complaint for complaint in complaints), category


def test_final_answers_resolve_the_complaint_they_follow(world, messages) -> None:
    def pattern(template: str) -> re.Pattern[str]:
        literal_parts = re.split(r"\{\w+\}", template)
        return re.compile(".+?".join(re.escape(part) for part in literal_parts), re.IGNORECASE)

    finals = [
        (pattern(answer), category) for category, answers in texts.FINAL_ANSWERS.items() for answer in answers
    ]
    labels = {label["source_message_key"]: label for label in world.labels}
    checked = 0
    for label in world.labels:
        if label["kind"] != "official_answer":
            continue
        text = MARKUP.sub("", messages[label["source_message_key"]]["text"]).removeprefix(", ")
        categories = {category for regex, category in finals if regex.fullmatch(text)}
        if categories:
            assert categories == {labels[label["answers_key"]]["category_code"]}, text
            checked += 1
    assert checked >= 5
