"""Telegram and OK into raw: extraction through the sandbox, idempotent re-runs, native response files."""

import json
from datetime import date, datetime, timedelta

import pytest

from socmon.sources import extract_into_raw
from socmon.sources.base import Source
from socmon.sources.files import ingest_files
from socmon.sources.ok import OkClient, OkExtractor
from socmon.sources.telegram import TelegramChannelReader, TelegramExtractor
from socmon_sandbox.ok_emulator import OkEmulator
from socmon_sandbox.social_world import MOSCOW, generate_social_world
from socmon_sandbox.telegram_fake import FakeTelegramClient

pytestmark = pytest.mark.integration

START = date(2025, 11, 24)
SINCE = datetime.combine(START, datetime.min.time(), MOSCOW)
UNTIL = SINCE + timedelta(days=3)
TELEGRAM_SOURCES = [
    Source("telegram:1700000001", "telegram", "community", "1700000001", "Краснодар Live", "krasnodar"),
    Source(
        "telegram:1800000002", "telegram", "official_account", "1800000002", "Минтранс", body_code="mintrans"
    ),
]
OK_SOURCES = [
    Source("ok:70000000000001", "ok", "community", "70000000000001", "Подслушано Краснодар", "krasnodar"),
    Source("ok:70000000000104", "ok", "official_account", "70000000000104", "ГЖИ", body_code="gzhi"),
]


@pytest.fixture(scope="module")
def world():
    return generate_social_world(START, days=3)


def counts(conn, *tables):
    return {t: conn.execute(f"select count(*) from raw.{t}").fetchone()[0] for t in tables}


def test_telegram_extraction_loads_messages_and_a_second_run_adds_nothing(world, empty_raw):
    extractor = TelegramExtractor(lambda: TelegramChannelReader(FakeTelegramClient(world)))

    first = [extract_into_raw(s, SINCE, UNTIL, extractor) for s in TELEGRAM_SOURCES]
    loaded = counts(empty_raw, "telegram_messages", "telegram_channels")
    second = [extract_into_raw(s, SINCE, UNTIL, extractor) for s in TELEGRAM_SOURCES]

    expected = 0
    for source in TELEGRAM_SOURCES:
        channel = world.telegram[int(source.external_id)]
        threads = channel.threads.values()
        expected += len(channel.posts) + len(threads) + sum(len(t.replies) for t in threads)
    assert loaded == {"telegram_messages": expected, "telegram_channels": 1}
    assert sum(r.loaded for r in first) == expected + 1 and sum(r.rejected for r in first) == 0
    assert sum(r.loaded for r in second) == 0
    assert counts(empty_raw, "telegram_messages", "telegram_channels") == loaded

    peers = {p for (p,) in empty_raw.execute("select distinct peer_id from raw.telegram_messages")}
    assert peers == {1700000001, 1900000001, 1800000002, 1900000102}  # channels and discussion groups
    cursor = empty_raw.execute(
        "select cursor from raw.source_cursors where source_id = %s and method = %s",
        ["telegram:1700000001", "iter_messages"],
    ).fetchone()[0]
    assert cursor == {"max_id": world.telegram[1700000001].posts[-1].id}


def test_ok_extraction_loads_topics_comments_and_groups_and_a_second_run_adds_nothing(world, empty_raw):
    with OkEmulator(world) as ok:
        client = OkClient(
            ok.application_key,
            ok.access_token,
            application_secret_key=ok.application_secret_key,
            api_url=ok.api_url,
            requests_per_second=1000,
        )
        extractor = OkExtractor(client)
        first = [extract_into_raw(s, SINCE, UNTIL, extractor) for s in OK_SOURCES]
        loaded = counts(empty_raw, "ok_topics", "ok_comments", "ok_groups")
        second = [extract_into_raw(s, SINCE, UNTIL, extractor) for s in OK_SOURCES]

    groups = [world.ok_groups[s.external_id] for s in OK_SOURCES]
    assert loaded == {
        "ok_topics": sum(len(g.topics) for g in groups),
        "ok_comments": sum(len(c) for g in groups for c in g.comments.values()),
        "ok_groups": 1,
    }
    assert sum(r.rejected for r in first) == 0
    assert sum(r.loaded for r in second) == 0
    assert counts(empty_raw, "ok_topics", "ok_comments", "ok_groups") == loaded
    keys = empty_raw.execute("select distinct group_id from raw.ok_topics order by 1").fetchall()
    assert keys == [(70000000000001,), (70000000000104,)]


def test_a_telegram_file_loads_and_quarantines_its_malformed_line(world, empty_raw, tmp_path):
    channel = world.telegram[1700000001]
    messages = channel.posts[:3] + next(iter(channel.threads.values())).replies[:2]
    lines = [m.to_json(ensure_ascii=False) for m in messages]
    cut_short = '{"_": "Message", "id": 77, "peer_id": {"_": "PeerChannel", "channel_id": 1700000001}, "mes'
    lines.insert(2, cut_short)
    path = tmp_path / "channel.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    first = ingest_files([path], platform="telegram")
    again = ingest_files([path], platform="telegram")

    assert (first.loaded, first.rejected) == (5, 1)
    assert (again.loaded, again.duplicates) == (0, 5)
    rejected = empty_raw.execute("select platform, entity, reason from raw.rejected").fetchall()
    assert len(rejected) == 1 and rejected[0][:2] == ("telegram", "telegram_messages")
    assert rejected[0][2].startswith("not JSON")


def test_ok_files_load_and_quarantine_a_malformed_item(world, empty_raw, tmp_path):
    group = world.ok_groups["70000000000001"]
    topics = {"media_topics": [*group.topics[:3], {**group.topics[3], "id": "не-номер"}], "has_more": False}
    (tmp_path / "getTopics.json").write_text(json.dumps(topics, ensure_ascii=False), encoding="utf-8")
    (tmp_path / "getInfo.json").write_text(json.dumps([group.info], ensure_ascii=False), encoding="utf-8")

    result = ingest_files([tmp_path / "getTopics.json", tmp_path / "getInfo.json"], platform="ok")

    assert (result.loaded, result.rejected) == (4, 1)
    assert counts(empty_raw, "ok_topics", "ok_groups") == {"ok_topics": 3, "ok_groups": 1}
    [(entity, reason)] = empty_raw.execute("select entity, reason from raw.rejected").fetchall()
    assert entity == "ok_topics" and "'id' should be numeric" in reason


def test_an_ok_comments_file_needs_its_topic_id(world, empty_raw, tmp_path):
    group = world.ok_groups["70000000000001"]
    topic_id, comments = next((t, c) for t, c in group.comments.items() if len(c) >= 2)
    path = tmp_path / "getComments.json"
    path.write_text(
        json.dumps({"comments": comments, "has_more": False}, ensure_ascii=False), encoding="utf-8"
    )

    without = ingest_files([path], platform="ok")
    with_topic = ingest_files([path], platform="ok", topic_id=int(topic_id))

    assert (without.loaded, without.rejected) == (0, len(comments))
    assert {r for (r,) in empty_raw.execute("select distinct reason from raw.rejected")} == {
        "missing field 'topic_id'"
    }
    assert with_topic.loaded == len(comments)
    stored = empty_raw.execute("select distinct topic_id from raw.ok_comments").fetchall()
    assert stored == [(int(topic_id),)]


def test_a_telegram_post_found_by_search_and_read_from_its_channel_is_stored_once(world, empty_raw):
    channel = TELEGRAM_SOURCES[0]
    posts = world.telegram[int(channel.external_id)].posts
    post = next(p for p in posts if SINCE <= p.date < UNTIL and len(p.message or "") > 40)
    words = post.message[:30]
    searched = Source(f"telegram:search:{words}", "telegram", "query", words, words)
    extractor = TelegramExtractor(lambda: TelegramChannelReader(FakeTelegramClient(world)))

    found = extract_into_raw(searched, SINCE, UNTIL, extractor)
    extract_into_raw(channel, SINCE, UNTIL, extractor)
    extract_into_raw(searched, SINCE, UNTIL, extractor)  # found again by the next run's search

    assert found.loaded >= 1
    stored = empty_raw.execute(
        "select source_id from raw.telegram_messages where peer_id = %s and message_id = %s",
        [int(channel.external_id), post.id],
    ).fetchall()
    assert stored == [(searched.source_id,)]  # one row: the channel's read of it added no second copy
