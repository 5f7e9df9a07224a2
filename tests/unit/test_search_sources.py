"""Keyword searches as sources: the registry's active queries, and what each network's search finds."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from socmon.sources.base import Source, SourceDeferred
from socmon.sources.registry import search_queries
from socmon.sources.retrying import RETRY_BUDGET
from socmon.sources.telegram import TelegramChannelReader, TelegramExtractor
from socmon_sandbox.social_world import MOSCOW, generate_social_world
from socmon_sandbox.telegram_fake import FakeTelegramClient

START = date(2025, 11, 24)
SINCE = datetime.combine(START + timedelta(days=1), datetime.min.time(), MOSCOW)
UNTIL = SINCE + timedelta(days=1)


def test_active_queries_of_searchable_networks_become_sources(tmp_path) -> None:
    (tmp_path / "search_queries.csv").write_text(
        "query_ru,platform,category_code,is_active\n"
        "нет воды,vk,utilities,true\n"
        "яма на дороге,vk,roads,false\n"
        "нет воды,telegram,,true\n"
        "нет воды,ok,utilities,true\n",
        encoding="utf-8",
    )
    sources = search_queries(tmp_path)
    assert [(s.source_id, s.kind, s.external_id) for s in sources] == [
        ("vk:search:нет воды", "query", "нет воды"),
        ("telegram:search:нет воды", "query", "нет воды"),
    ]  # the inactive one and OK's (no search for applications) are left out


def test_a_telegram_search_finds_the_words_in_every_joined_chat_within_the_window() -> None:
    world = generate_social_world(START, days=3)
    everything = [
        m
        for channel in world.telegram.values()
        for m in [*channel.posts, *(m for t in channel.threads.values() for m in (t.root, *t.replies))]
    ]
    chats_of: dict[str, set[int]] = {}
    for m in everything:
        if SINCE <= m.date < UNTIL:
            for word in m.message.casefold().split():
                if len(word) > 4 and word.isalpha():
                    chats_of.setdefault(word, set()).add(m.peer_id.channel_id)
    later_words = {
        word
        for m in everything
        if m.date >= UNTIL
        for word in m.message.casefold().split()
        if word in chats_of
    }
    words = max(sorted(later_words), key=lambda w: len(chats_of[w]))  # written in many chats, and later too

    def found_in(since: datetime, until: datetime) -> set[tuple[int, int]]:
        return {
            (m.peer_id.channel_id, m.id)
            for m in everything
            if since <= m.date < until and words.casefold() in m.message.casefold()
        }

    expected = found_in(SINCE, UNTIL)
    fake = FakeTelegramClient(world)
    extractor = TelegramExtractor(lambda: TelegramChannelReader(fake))
    query = Source(f"telegram:search:{words}", "telegram", "query", words, "поиск")

    [channels, batch] = list(extractor.extract(query, SINCE, UNTIL, {}))

    assert {(r["peer_id"]["channel_id"], r["id"]) for r in batch.records} == expected
    assert len({r["peer_id"]["channel_id"] for r in batch.records}) > 1, "more than one chat searched"
    assert batch.cursor == {"searched_until": int(UNTIL.timestamp())}
    # the channels whose posts it found, described (GetFullChannel) before the messages are loaded
    posted_in = {r["peer_id"]["channel_id"] for r in batch.records if r.get("post")}
    assert channels.table == "telegram_channels" and {r["id"] for r in channels.records} == posted_in
    assert all(r["full_chat"]["about"] for r in channels.records)
    assert {request[0] for request in fake.requests} == {"SearchGlobal", "GetFullChannel"}

    # the next run searches from where this one stopped, whatever window it is given
    later = max(m.date for m in everything if words in m.message.casefold()) + timedelta(seconds=1)
    cursors = {batch.method: batch.cursor}
    *_, again = list(extractor.extract(query, later - timedelta(seconds=1), later, cursors))
    assert {(r["peer_id"]["channel_id"], r["id"]) for r in again.records} == found_in(UNTIL, later)
    assert len(found_in(UNTIL, later)) > len(found_in(later - timedelta(seconds=1), later))


def test_short_flood_waits_are_slept_within_the_retry_budget_then_the_source_waits() -> None:
    world = generate_social_world(START, days=3)
    query = Source("telegram:search:вода", "telegram", "query", "вода", "поиск")
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    def extractor(waits: int) -> TelegramExtractor:
        fake = FakeTelegramClient(world, flood_waits={n: 2 for n in range(1, waits + 1)})
        return TelegramExtractor(lambda: TelegramChannelReader(fake), sleep=sleep)

    *_, batch = list(extractor(RETRY_BUDGET).extract(query, SINCE, UNTIL, {}))
    assert batch.records and slept == [2.0] * RETRY_BUDGET

    with pytest.raises(SourceDeferred):
        list(extractor(RETRY_BUDGET + 1).extract(query, SINCE, UNTIL, {}))
