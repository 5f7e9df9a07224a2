"""The Telegram extractor through the fake client: cursors, threads, payloads and flood waits."""

import json
from datetime import date, datetime, timedelta

import pytest

from socmon.sources.base import Source
from socmon.sources.retrying import RETRY_BUDGET
from socmon.sources.telegram import (
    SourceDeferred,
    TelegramChannelReader,
    TelegramChannelUnknownError,
    TelegramCredentialsError,
    TelegramExtractor,
)
from socmon_sandbox.social_world import MOSCOW, generate_social_world
from socmon_sandbox.telegram_fake import FakeTelegramClient

START = date(2025, 11, 24)
NEWS_CHANNEL = 1700000001  # has a discussion group
NO_COMMENTS_CHANNEL = 1700000004  # comments are off
OFFICIAL_CHANNEL = 1800000002
SINCE = datetime.combine(START + timedelta(days=1), datetime.min.time(), MOSCOW)
UNTIL = SINCE + timedelta(days=1)


@pytest.fixture(scope="module")
def world():
    return generate_social_world(START, days=3)


def source(channel_id, kind="community"):
    return Source(f"telegram:{channel_id}", "telegram", kind, str(channel_id), "канал")


def extract(fake, src, since=SINCE, until=UNTIL, cursors=None, **options):
    extractor = TelegramExtractor(lambda: TelegramChannelReader(fake), **options)
    return list(extractor.extract(src, since, until, cursors or {}))


def post_batches(batches):
    return [b for b in batches if b.method == "iter_messages"]


def test_a_first_run_reads_the_window_and_a_cursor_run_only_what_follows(world):
    posts = world.telegram[NEWS_CHANNEL].posts
    in_window = [p.id for p in posts if SINCE <= p.date < UNTIL]

    first = post_batches(extract(FakeTelegramClient(world), source(NEWS_CHANNEL)))
    assert [r["id"] for b in first for r in b.records] == in_window
    assert first[-1].cursor == {"max_id": in_window[-1]}

    cursor = in_window[2]
    later = post_batches(
        extract(
            FakeTelegramClient(world), source(NEWS_CHANNEL), cursors={"iter_messages": {"max_id": cursor}}
        )
    )
    assert [r["id"] for b in later for r in b.records] == [i for i in in_window if i > cursor]


def test_a_missed_run_leaves_no_gap(world):
    posts = world.telegram[NEWS_CHANNEL].posts
    before_window = [p.id for p in posts if p.date < SINCE]
    cursors = {"iter_messages": {"max_id": before_window[-3]}}
    batches = post_batches(extract(FakeTelegramClient(world), source(NEWS_CHANNEL), cursors=cursors))
    read = [r["id"] for b in batches for r in b.records]
    assert read[:2] == before_window[-2:]  # published before `since`, after the cursor


def test_replies_are_read_only_for_posts_with_comments(world):
    channel = world.telegram[NEWS_CHANNEL]
    fake = FakeTelegramClient(world)
    extract(fake, source(NEWS_CHANNEL))

    recent = [p for p in channel.posts if UNTIL - timedelta(days=3) <= p.date < UNTIL]
    with_comments = {p.id for p in recent if p.replies and p.replies.replies}
    assert {r[2] for r in fake.requests if r[0] == "GetReplies"} == with_comments
    assert with_comments and len(with_comments) < len(recent)

    silent = FakeTelegramClient(world)
    extract(silent, source(NO_COMMENTS_CHANNEL))
    assert not [r for r in silent.requests if r[0] in ("GetReplies", "GetDiscussionMessage")]


def test_a_thread_is_read_again_only_when_it_has_replies_not_stored_yet(world):
    window = {"since": SINCE, "until": world.end}
    first = extract(FakeTelegramClient(world), source(NEWS_CHANNEL), **window)
    cursors = {b.method: b.cursor for b in first if b.method}
    stored = cursors["thread_replies"]["stored_max_ids"]

    unchanged = FakeTelegramClient(world)
    extract(unchanged, source(NEWS_CHANNEL), cursors=cursors, **window)
    assert not [r for r in unchanged.requests if r[0] == "GetReplies"]

    behind = next(iter(stored))  # as if a reply (an answer) came after the last run
    cursors["thread_replies"] = {"stored_max_ids": {**stored, behind: stored[behind] - 1}}
    answered = FakeTelegramClient(world)
    extract(answered, source(NEWS_CHANNEL), cursors=cursors, **window)
    assert [r[2] for r in answered.requests if r[0] == "GetReplies"] == [int(behind)]


def test_payloads_are_messages_as_to_json_writes_them(world):
    channel = world.telegram[NEWS_CHANNEL]
    by_key = {(p.peer_id.channel_id, p.id): p for p in channel.posts}
    for thread in channel.threads.values():
        by_key |= {(m.peer_id.channel_id, m.id): m for m in (thread.root, *thread.replies)}

    records = [r for b in extract(FakeTelegramClient(world), source(NEWS_CHANNEL)) for r in b.records]

    assert records
    for record in records:
        original = by_key[(record["peer_id"]["channel_id"], record["id"])]
        assert record == json.loads(original.to_json())
        assert record["_"] == "Message"
    peers = {r["peer_id"]["channel_id"] for r in records}
    assert peers == {NEWS_CHANNEL, channel.account.discussion_id}  # posts, and their threads
    replies = [r for r in records if r["peer_id"]["channel_id"] != NEWS_CHANNEL]
    assert all(datetime.fromisoformat(r["date"]) < UNTIL for r in replies)


def test_official_channels_also_give_their_metadata_once_a_day(world):
    batches = extract(FakeTelegramClient(world), source(OFFICIAL_CHANNEL, "official_account"))
    [info] = [b for b in batches if b.table == "telegram_channels"]
    [payload] = info.records
    assert payload["id"] == OFFICIAL_CHANNEL
    assert payload["full_chat"]["participants_count"] > 0
    assert info.cursor == {"day": UNTIL.date().isoformat()}

    cursors = {b.method: b.cursor for b in batches if b.method}
    again = extract(FakeTelegramClient(world), source(OFFICIAL_CHANNEL, "official_account"), cursors=cursors)
    assert not [b for b in again if b.table == "telegram_channels"]
    assert not [b for b in again if b.method == "refresh_recent_posts"]


def test_a_short_flood_wait_is_slept_and_retried(world):
    slept = []

    async def sleep(seconds):
        slept.append(seconds)

    calm = extract(FakeTelegramClient(world), source(NEWS_CHANNEL))
    flooded = extract(FakeTelegramClient(world, flood_waits={1: 7, 4: 12}), source(NEWS_CHANNEL), sleep=sleep)

    assert slept == [7, 12]
    assert [b.records for b in flooded] == [b.records for b in calm]


def test_short_flood_waits_while_paging_past_the_shared_budget_defer_the_source(world, caplog):
    slept = []

    async def sleep(seconds):
        slept.append(seconds)

    # the channel lookup answers, then every page request floods: the budget, not a loop without end
    fake = FakeTelegramClient(world, page_size=2, flood_waits={n: 5 for n in range(2, 40)})
    extractor = TelegramExtractor(lambda: TelegramChannelReader(fake), sleep=sleep)
    with pytest.raises(SourceDeferred), caplog.at_level("WARNING"):
        list(extractor.extract(source(NEWS_CHANNEL), SINCE, UNTIL, {}))
    assert slept == [5] * RETRY_BUDGET
    retries = [r.getMessage() for r in caplog.records if "sleeping it out" in r.getMessage()]
    assert retries[-1].endswith(
        f"flood wait of 5s on channel posts, sleeping it out; retry {RETRY_BUDGET}/{RETRY_BUDGET}"
    )


def test_a_long_flood_wait_saves_what_was_read_and_defers_the_source(world):
    in_window = [p.id for p in world.telegram[NEWS_CHANNEL].posts if SINCE <= p.date < UNTIL]
    fake = FakeTelegramClient(world, page_size=2, flood_waits={3: 3600})
    extractor = TelegramExtractor(lambda: TelegramChannelReader(fake), sleep=pytest.fail)
    batches = []
    with pytest.raises(SourceDeferred) as deferred:
        for batch in extractor.extract(source(NEWS_CHANNEL), SINCE, UNTIL, {}):
            batches.append(batch)

    assert deferred.value.retry_after_seconds == 3600
    [checkpoint] = batches
    assert [r["id"] for r in checkpoint.records] == in_window[:4]  # two pages were read
    assert checkpoint.cursor == {"max_id": in_window[3]}

    resumed = post_batches(
        extract(FakeTelegramClient(world), source(NEWS_CHANNEL), cursors={"iter_messages": checkpoint.cursor})
    )
    assert [r["id"] for b in resumed for r in b.records] == in_window[4:]


def test_an_unauthorised_session_is_refused(world):
    with pytest.raises(TelegramCredentialsError, match="StringSession"):
        extract(FakeTelegramClient(world, authorized=False), source(NEWS_CHANNEL))


def test_the_thread_of_an_old_post_with_an_open_incident_is_read_again(world):
    channel = world.telegram[NEWS_CHANNEL]
    later = UNTIL + timedelta(days=10)  # every post is out of the 3-day re-read window
    old = next(p for p in channel.posts if p.replies and p.replies.replies)
    fake = FakeTelegramClient(world)
    extractor = TelegramExtractor(lambda: TelegramChannelReader(fake))

    batches = extractor.extract(source(NEWS_CHANNEL), later, later + timedelta(hours=1), {}, [str(old.id)])
    thread = [m for b in batches if b.table == "telegram_messages" for m in b.records]

    assert {r[2] for r in fake.requests if r[0] == "GetReplies"} == {old.id}
    assert len(thread) == 1 + old.replies.replies  # the discussion group's copy of the post, and the replies


def test_an_open_thread_whose_post_is_gone_is_skipped_and_the_others_are_read(world):
    channel = world.telegram[NEWS_CHANNEL]
    later = UNTIL + timedelta(days=10)
    old = next(p for p in channel.posts if p.replies and p.replies.replies)
    gone = max(p.id for p in channel.posts) + 1000  # a deleted post: Telegram answers MSG_ID_INVALID
    fake = FakeTelegramClient(world)
    extractor = TelegramExtractor(lambda: TelegramChannelReader(fake))

    batches = extractor.extract(
        source(NEWS_CHANNEL), later, later + timedelta(hours=1), {}, [str(gone), str(old.id)]
    )
    thread = [m for b in batches if b.table == "telegram_messages" for m in b.records]

    assert len(thread) == 1 + old.replies.replies


class FreshSession(FakeTelegramClient):
    """A fresh StringSession: it knows no channel by its bare id (Telethon's ValueError), only what
    contacts.resolveUsername finds by a public username."""

    async def get_entity(self, entity):
        if not isinstance(entity, str):
            raise ValueError(f"Could not find the input entity for {entity!r}")
        return await super().get_entity(entity)


def test_channels_are_resolved_by_username_and_the_account_s_dialogs_never_read(world):
    fake = FreshSession(world)
    username = world.telegram[NEWS_CHANNEL].entity.username
    registered = Source(
        f"telegram:{NEWS_CHANNEL}", "telegram", "community", str(NEWS_CHANNEL), "канал", screen_name=username
    )

    assert post_batches(extract(fake, registered))
    with pytest.raises(TelegramChannelUnknownError, match="screen_name"):
        extract(fake, source(NEWS_CHANNEL))  # no username in the registry: an error, not the dialogs
    with pytest.raises(TelegramChannelUnknownError, match="fix the registry"):
        extract(
            fake,
            Source(
                "telegram:1700000002", "telegram", "community", "1700000002", "канал", screen_name=username
            ),
        )

    assert [r for r in fake.requests if r[0] == "GetDialogs"] == []
