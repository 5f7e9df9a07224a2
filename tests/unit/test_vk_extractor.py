"""The VK extractor against the emulator, through the real vk_api: batching, walls, errors, search, edits
and deletions. Worlds are built here, small and exact, so that each test says what it expects."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

import pytest
import requests
import vk_api

from socmon.sources.base import Batch, Source
from socmon.sources.rate_limit import TokenPool
from socmon.sources.registry import due_sources
from socmon.sources.vk import VK_API_URL, VkClient, VkError, VkExtractor, VkTransport
from socmon.warehouse.loader import ENTITIES, Prepared, prepare
from socmon_sandbox import VkEmulator, World, generate_world
from socmon_sandbox.world import MOSCOW

UNTIL = datetime(2026, 11, 27, 0, 0, tzinfo=MOSCOW)
SINCE = UNTIL - timedelta(hours=1)
HOUR = 3600
COMMUNITY, OTHER = -100, -200


# --- a world built by hand -------------------------------------------------------------------------


def post(owner_id: int, post_id: int, at: datetime, text: str = "Новость дня", comments: int = 0) -> dict:
    return {
        "inner_type": "wall_wallpost",
        "id": post_id,
        "owner_id": owner_id,
        "from_id": owner_id,
        "date": int(at.timestamp()),
        "text": text,
        "post_type": "post",
        "comments": {"can_post": 1, "count": comments, "groups_can_post": True},
        "likes": {"can_like": 1, "count": 3, "user_likes": 0, "can_publish": 1},
        "views": {"count": 100},
    }


def comment(owner_id: int, post_id: int, comment_id: int, at: datetime, replies: int = 0) -> dict:
    def one(cid: int, parent: int | None) -> dict:
        return {
            "id": cid,
            "from_id": 7,
            "date": int(at.timestamp()),
            "text": "Когда починят?",
            "post_id": post_id,
            "owner_id": owner_id,
            "parents_stack": [parent] if parent else [],
        }

    top = one(comment_id, None)
    thread = [one(comment_id + 1 + i, comment_id) for i in range(replies)]
    top["thread"] = {"count": replies, "items": thread, "can_post": True, "show_reply_button": True}
    return top


def wall(owner_id: int, count: int, newest: datetime, every: timedelta, comments: int = 0) -> list[dict]:
    """`count` posts, newest first, one every `every`; ids grow with time."""
    return [post(owner_id, 10_000 + count - i, newest - i * every, comments=comments) for i in range(count)]


def make_world(walls: dict[int, list[dict]], with_comments: bool = True) -> World:
    comments: dict[tuple[int, int], list[dict]] = {}
    if with_comments:
        for owner_id, posts in walls.items():
            for p in posts:
                n = p["comments"]["count"]
                if n:  # one comment, 30 seconds after the post
                    at = datetime.fromtimestamp(p["date"] + 30, MOSCOW)
                    comments[(owner_id, p["id"])] = [comment(owner_id, p["id"], 50_000 + p["id"] * 10, at)]
    groups = {
        -o: {"id": -o, "name": f"Паблик {-o}", "screen_name": f"club{-o}", "type": "page"} for o in walls
    }
    return World(UNTIL.date(), 1, groups, {}, walls, comments, [])


def community(owner_id: int, kind: str = "community") -> Source:
    return Source(f"vk:{owner_id}", "vk", kind, str(owner_id), "Паблик")


@pytest.fixture
def serve() -> Iterator[Any]:
    """Starts an emulator over a world; stops them all after the test."""
    running: list[VkEmulator] = []

    def start(world: World) -> VkEmulator:
        running.append(VkEmulator(world).start())
        return running[-1]

    yield start
    for emulator in running:
        emulator.stop()


def client(emulator: VkEmulator, **options: Any) -> VkClient:
    options = {"requests_per_second": 1_000, "backoff_seconds": 0.0, "timeout_seconds": 5.0} | options
    return VkClient("token", api_url=emulator.url, **options)


def run(
    extractor: VkExtractor, source: Source, cursors: dict | None = None, since=SINCE, until=UNTIL
) -> list[Batch]:
    return list(extractor.extract(source, since, until, cursors or {}))


def records(batches: list[Batch], table: str) -> list[dict]:
    return [r for b in batches if b.table == table for r in b.records]


def ids(items: list[dict]) -> list[int]:
    return sorted(i["id"] for i in items)


def cursor_of(batches: list[Batch], method: str) -> dict:
    (batch,) = [b for b in batches if b.method == method]
    return batch.cursor


# --- execute batching ------------------------------------------------------------------------------


def test_comment_reads_go_25_to_an_execute_request(serve) -> None:
    world = make_world(
        {COMMUNITY: wall(COMMUNITY, 60, UNTIL - timedelta(minutes=1), timedelta(hours=1), comments=1)}
    )
    emulator = serve(world)
    batches = run(VkExtractor(client(emulator)), community(COMMUNITY))

    comment_calls = emulator.calls["wall.getComments"]
    assert comment_calls == 60
    assert emulator.calls["execute"] <= math.ceil(comment_calls / 25) == 3
    assert emulator.requests == 1 + 3  # the one wall page, then three executes
    assert len(records(batches, "vk_comments")) == 60


def test_the_naive_path_sends_one_call_per_request_and_reads_the_same(serve) -> None:
    world = make_world(
        {COMMUNITY: wall(COMMUNITY, 60, UNTIL - timedelta(minutes=1), timedelta(hours=1), comments=1)}
    )
    batched_emulator, naive_emulator = serve(world), serve(world)
    batched = run(VkExtractor(client(batched_emulator)), community(COMMUNITY))
    naive = run(VkExtractor(client(naive_emulator), calls_per_execute=1), community(COMMUNITY))

    assert naive_emulator.calls["execute"] == 0
    assert naive_emulator.requests == 61
    for table in ("vk_posts", "vk_comments"):
        assert ids(records(batched, table)) == ids(records(naive, table))


def test_a_deep_wall_is_read_in_a_first_page_and_one_execute(serve) -> None:
    newest = UNTIL - timedelta(minutes=1)
    emulator = serve(make_world({COMMUNITY: wall(COMMUNITY, 950, newest, timedelta(minutes=4))}))
    since = newest - timedelta(minutes=4 * 949)  # the whole wall is new
    batches = run(VkExtractor(client(emulator)), community(COMMUNITY), since=since)

    assert len(records(batches, "vk_posts")) == 950
    assert emulator.requests == 2
    assert emulator.calls["wall.get"] == 10


def test_prefetch_reads_the_first_pages_of_25_walls_per_request(serve) -> None:
    walls = {
        -(1000 + i): wall(-(1000 + i), 3, UNTIL - timedelta(minutes=5), timedelta(hours=1)) for i in range(30)
    }
    emulator = serve(make_world(walls))
    extractor = VkExtractor(client(emulator))
    sources = [community(owner_id) for owner_id in walls]
    extractor.prefetch(sources, SINCE, UNTIL).result()
    assert emulator.requests == 2  # 25 + 5 first pages

    read = [records(run(extractor, s), "vk_posts") for s in sources]
    assert emulator.requests == 2, "every wall was read by the prefetch"
    assert all(len(posts) == 3 for posts in read)


def test_prefetch_shares_executes_between_walls(serve) -> None:
    walls = {
        -(1000 + i): wall(-(1000 + i), 250, UNTIL - timedelta(minutes=5), timedelta(minutes=5))
        for i in range(10)
    }
    emulator = serve(make_world(walls))
    extractor = VkExtractor(client(emulator))
    sources = [community(owner_id) for owner_id in walls]
    extractor.prefetch(sources, UNTIL - timedelta(days=1), UNTIL).result()

    assert emulator.calls["wall.get"] == 30 and emulator.requests == 2  # 10 first pages, then 20 pages
    assert [
        len(records(run(extractor, s, since=UNTIL - timedelta(days=1)), "vk_posts")) for s in sources
    ] == [250] * 10
    assert emulator.requests == 2


def test_a_wall_the_prefetch_did_not_read_deep_enough_is_read_again(serve) -> None:
    emulator = serve(
        make_world({COMMUNITY: wall(COMMUNITY, 250, UNTIL - timedelta(minutes=5), timedelta(hours=1))})
    )
    extractor = VkExtractor(client(emulator))
    extractor.prefetch([community(COMMUNITY)], SINCE, UNTIL)  # down to the re-read window: 3 days
    a_week = {
        "wall.get": {"newest_date": int((UNTIL - timedelta(days=7)).timestamp())}
    }  # a week of missed runs
    batches = run(extractor, community(COMMUNITY), a_week)
    assert len(records(batches, "vk_posts")) == 7 * 24


def test_the_emulator_runs_the_pools_vk_api_generates(serve) -> None:
    emulator = serve(make_world({COMMUNITY: wall(COMMUNITY, 3, UNTIL, timedelta(hours=1), comments=1)}))
    session = requests.Session()
    session.mount("https://", VkTransport(emulator.url))
    vk = vk_api.VkApi(token="token", api_version="5.199", session=session)
    post_id = emulator.world.vk_posts[COMMUNITY][0]["id"]
    with vk_api.VkRequestsPool(vk) as pool:
        posts = pool.method("wall.get", {"owner_id": COMMUNITY, "count": 2})
        thread = pool.method("wall.getComments", {"owner_id": COMMUNITY, "post_id": post_id})
        missing = pool.method("wall.get", {"owner_id": -999})
    assert emulator.calls["execute"] == 1
    assert len(posts.result["items"]) == 2
    assert thread.result["count"] == 1
    assert not missing.ok and missing.error["error_code"] == 100


# --- walls -----------------------------------------------------------------------------------------


def test_the_old_pinned_post_neither_stops_paging_nor_counts_as_new(serve) -> None:
    posts = wall(COMMUNITY, 150, UNTIL - timedelta(minutes=1), timedelta(seconds=20))
    pinned = post(COMMUNITY, 5, UNTIL - timedelta(days=60), text="Правила паблика") | {"is_pinned": 1}
    emulator = serve(make_world({COMMUNITY: [pinned, *posts]}))
    batches = run(VkExtractor(client(emulator)), community(COMMUNITY))

    stored = ids(records(batches, "vk_posts"))
    assert stored == ids(posts), "every post of the hour, and not the pinned one"
    assert emulator.calls["wall.get"] >= 2


def test_a_recent_pinned_post_is_stored_once(serve) -> None:
    posts = wall(COMMUNITY, 30, UNTIL - timedelta(minutes=1), timedelta(minutes=1))
    pinned = dict(posts.pop(10), is_pinned=1)
    emulator = serve(make_world({COMMUNITY: [pinned, *posts]}))
    stored = ids(records(run(VkExtractor(client(emulator)), community(COMMUNITY)), "vk_posts"))
    assert stored == sorted([pinned["id"], *(p["id"] for p in posts)])


def test_the_cursor_moves_to_the_newest_post_and_a_missed_run_leaves_no_gap(serve) -> None:
    posts = wall(COMMUNITY, 10, UNTIL - timedelta(minutes=5), timedelta(hours=1))
    emulator = serve(make_world({COMMUNITY: posts}))
    extractor = VkExtractor(client(emulator))
    three_hours_ago = UNTIL - timedelta(hours=3)
    cursor = {"wall.get": {"newest_date": int(three_hours_ago.timestamp())}}
    batches = run(extractor, community(COMMUNITY), {**cursor})
    new = [p for p in posts if p["date"] >= three_hours_ago.timestamp()]
    assert set(ids(new)) <= set(ids(records(batches, "vk_posts")))
    assert cursor_of(batches, "wall.get")["newest_date"] == posts[0]["date"]


# --- errors ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", [5, 15, 18, 30, 203])
def test_a_refused_wall_is_recorded_and_the_other_walls_are_read(serve, code) -> None:
    walls = {
        o: wall(o, 5, UNTIL - timedelta(minutes=5), timedelta(minutes=10), comments=1)
        for o in (COMMUNITY, OTHER)
    }
    emulator = serve(make_world(walls))
    emulator.access_errors[("wall.get", COMMUNITY)] = code
    extractor = VkExtractor(client(emulator))

    refused = run(extractor, community(COMMUNITY))
    assert [b.errors for b in refused] == [{"wall.get": refused[0].errors["wall.get"]}]
    assert refused[0].errors["wall.get"].startswith(f"VK error {code} (")
    assert refused[0].cursor is None, "the cursor stays where the data is"

    other = run(extractor, community(OTHER))
    assert len(records(other, "vk_posts")) == 5 and len(records(other, "vk_comments")) == 5
    assert all(not b.errors for b in other)


def test_closed_comments_are_recorded_while_posts_and_other_comments_load(serve) -> None:
    walls = {
        o: wall(o, 4, UNTIL - timedelta(minutes=5), timedelta(minutes=10), comments=1)
        for o in (COMMUNITY, OTHER)
    }
    emulator = serve(make_world(walls))
    emulator.access_errors[("wall.getComments", COMMUNITY)] = 212
    extractor = VkExtractor(client(emulator))

    batches = run(extractor, community(COMMUNITY))
    assert len(records(batches, "vk_posts")) == 4
    assert cursor_of(batches, "wall.get")["newest_date"] == walls[COMMUNITY][0]["date"]
    (errors,) = [b.errors for b in batches if b.errors]
    assert errors["wall.getComments"].startswith("VK error 212 (no access to the post's comments): ")
    assert "(on 4 posts: " in errors["wall.getComments"]
    assert len(records(run(extractor, community(OTHER)), "vk_comments")) == 4


def test_an_unexpected_error_fails_the_source(serve) -> None:
    emulator = serve(make_world({COMMUNITY: wall(COMMUNITY, 2, UNTIL, timedelta(hours=1))}))
    with pytest.raises(VkError, match=r"VK error 100 on wall\.get"):
        run(VkExtractor(client(emulator)), community(-999))


def _pool(wall_clock: list[float], *tokens: str) -> TokenPool:
    return TokenPool(list(tokens), requests_per_second=1_000, wall_clock=lambda: wall_clock[0])


def test_error_29_stops_the_method_for_the_token_until_midnight(serve) -> None:
    walls = {
        o: wall(o, 30, UNTIL - timedelta(minutes=5), timedelta(minutes=1), comments=1)
        for o in (COMMUNITY, OTHER)
    }
    emulator = serve(make_world(walls))
    now = [UNTIL.timestamp() - HOUR]  # 23:00 in Moscow
    sequential = VkClient(api_url=emulator.url, pool=_pool(now, "token"), backoff_seconds=0, max_in_flight=1)
    extractor = VkExtractor(sequential)
    emulator.faults.append({"error_code": 29, "method": "wall.getComments"})

    batches = run(extractor, community(COMMUNITY))
    assert len(records(batches, "vk_posts")) == 30 and cursor_of(batches, "wall.get")
    assert emulator.calls["wall.getComments"] == 25, "one execute reached VK; the rest were not sent"
    assert len(records(batches, "vk_comments")) == 24
    (errors,) = [b.errors for b in batches if b.errors]
    assert errors["wall.getComments"].startswith("VK error 29 (daily limit reached): ")
    assert "stopped until 2026-11-27T00:00:00+03:00" in errors["wall.getComments"]
    assert errors["wall.getComments"].endswith("(on 6 posts: 10001, 10002, 10003, 10004, 10005, 10030)")

    other = run(extractor, community(OTHER))
    assert len(records(other, "vk_posts")) == 30, "wall.get still works"
    assert emulator.calls["wall.getComments"] == 25, "the stopped method is not called again today"
    assert "wall.getComments" in next(b.errors for b in other if b.errors)

    now[0] = UNTIL.timestamp()  # midnight in Moscow: the daily limits reset
    assert len(records(run(extractor, community(OTHER)), "vk_comments")) == 30


def test_error_29_moves_the_method_to_another_token(serve) -> None:
    emulator = serve(
        make_world(
            {COMMUNITY: wall(COMMUNITY, 30, UNTIL - timedelta(minutes=5), timedelta(minutes=1), comments=1)}
        )
    )
    now = [UNTIL.timestamp() - HOUR]
    extractor = VkExtractor(
        VkClient(api_url=emulator.url, pool=_pool(now, "first", "second"), backoff_seconds=0)
    )
    emulator.faults.append({"error_code": 29, "method": "wall.getComments"})

    batches = run(extractor, community(COMMUNITY))
    assert len(records(batches, "vk_comments")) == 30
    assert all(not b.errors for b in batches)
    assert len(extractor.client.pool.available_tokens("wall.getComments")) == 1


def test_error_29_on_a_single_wall_get_request_is_recorded(serve) -> None:
    emulator = serve(
        make_world({COMMUNITY: wall(COMMUNITY, 3, UNTIL - timedelta(minutes=5), timedelta(minutes=1))})
    )
    emulator.faults.append({"error_code": 29})
    batches = run(VkExtractor(client(emulator), calls_per_execute=1), community(COMMUNITY))
    assert [b.cursor for b in batches] == [None]
    assert batches[0].errors["wall.get"].startswith("VK error 29 (daily limit reached)")


def test_transient_failures_are_retried_within_the_budget(serve) -> None:
    emulator = serve(make_world({COMMUNITY: wall(COMMUNITY, 3, UNTIL, timedelta(hours=1))}))
    vk = client(emulator, retry_budget=4)
    emulator.faults.extend(
        [{"error_code": 6}, {"http_status": 503}, {"body": "not json"}, {"truncated": True}]
    )
    assert len(vk.call("wall.get", owner_id=COMMUNITY)["items"]) == 3
    assert emulator.requests == 5

    emulator.faults.extend([{"error_code": 10}] * 5)
    with pytest.raises(vk_api.exceptions.ApiError, match=r"\[10\]"):
        vk.call("wall.get", owner_id=COMMUNITY)


def test_a_call_failing_inside_execute_is_retried_alone(serve) -> None:
    emulator = serve(
        make_world(
            {COMMUNITY: wall(COMMUNITY, 10, UNTIL - timedelta(minutes=5), timedelta(minutes=1), comments=1)}
        )
    )
    emulator.faults.append({"error_code": 10, "method": "wall.getComments"})
    batches = run(VkExtractor(client(emulator)), community(COMMUNITY))
    assert len(records(batches, "vk_comments")) == 10
    assert emulator.calls["wall.getComments"] == 11
    assert emulator.calls["execute"] == 1, "the retried call went in a request of its own"


def test_calls_refused_inside_execute_past_the_budget_fail_after_the_shared_retry_log(serve, caplog) -> None:
    emulator = serve(
        make_world(
            {COMMUNITY: wall(COMMUNITY, 2, UNTIL - timedelta(minutes=5), timedelta(minutes=1), comments=1)}
        )
    )
    # both comment reads refused in the first execute, and in each of the two executes after
    emulator.faults.extend([{"error_code": 10, "method": "wall.getComments"}] * 6)
    with caplog.at_level(logging.WARNING), pytest.raises(VkError, match="still failing after 2 retries"):
        run(VkExtractor(client(emulator, retry_budget=2)), community(COMMUNITY))
    retries = [r.getMessage() for r in caplog.records if r.name == "socmon.sources.vk.client"]
    assert retries == [
        f"VK calls inside execute: _RefusedInsideExecute: 2 calls refused (error 10); retry {n}/2 in 0.00s"
        for n in (1, 2)
    ]
    assert emulator.calls["execute"] == 3


def test_a_read_timeout_is_retried(serve) -> None:
    emulator = serve(make_world({COMMUNITY: wall(COMMUNITY, 3, UNTIL, timedelta(hours=1))}))
    emulator.faults.append({"delay_seconds": 0.5})
    vk = client(emulator, timeout_seconds=0.1)
    assert len(vk.call("wall.get", owner_id=COMMUNITY)["items"]) == 3


def test_the_transport_sends_vk_calls_to_the_sandbox_only_when_asked() -> None:
    assert VkTransport().api_url == VK_API_URL
    assert VkTransport("http://127.0.0.1:1/").api_url == "http://127.0.0.1:1"


# --- newsfeed.search -------------------------------------------------------------------------------


def test_a_search_splits_its_window_until_each_half_has_fewer_than_1000_results(serve) -> None:
    start = UNTIL - timedelta(days=3)
    matching = [
        post(COMMUNITY, i, start + timedelta(seconds=97 * i), text=f"Опять ЯМА на дороге №{i}")
        for i in range(1, 2601)
    ]
    other = [
        post(OTHER, i, start + timedelta(seconds=101 * i), text="Концерт в парке") for i in range(1, 400)
    ]
    emulator = serve(make_world({COMMUNITY: matching[::-1], OTHER: other[::-1]}, with_comments=False))
    found = list(VkExtractor(client(emulator)).search("яма", start, UNTIL))

    assert ids(found) == ids(matching)
    assert len(found) == len(matching), "no post twice"
    assert emulator.calls["newsfeed.search"] >= 2600 / 200


def test_a_search_pages_by_next_from_below_1000(serve) -> None:
    start = UNTIL - timedelta(days=1)
    matching = [post(COMMUNITY, i, start + timedelta(seconds=60 * i), text="нет воды") for i in range(1, 901)]
    emulator = serve(make_world({COMMUNITY: matching[::-1]}, with_comments=False))
    found = list(VkExtractor(client(emulator), calls_per_execute=1).search("Нет воды", start, UNTIL))
    assert ids(found) == ids(matching)
    assert emulator.calls["newsfeed.search"] == 5  # 200 a page


def test_a_query_source_stores_the_posts_and_moves_its_cursor(serve) -> None:
    hit = post(COMMUNITY, 1, UNTIL - timedelta(minutes=30), text="Не вывозят мусор")
    emulator = serve(
        make_world({COMMUNITY: [hit, post(COMMUNITY, 2, UNTIL - timedelta(minutes=20))]}, with_comments=False)
    )
    query = Source("vk:query:мусор", "vk", "query", "мусор", "Мусор")
    batches = run(VkExtractor(client(emulator)), query)
    assert records(batches, "vk_posts") == [hit]
    assert cursor_of(batches, "newsfeed.search") == {"searched_until": int(UNTIL.timestamp())}


# --- edits and deletions ---------------------------------------------------------------------------


def test_an_edited_post_arrives_as_a_new_version(serve) -> None:
    posts = wall(COMMUNITY, 5, UNTIL - timedelta(hours=2), timedelta(hours=6))
    emulator = serve(make_world({COMMUNITY: posts}))
    extractor = VkExtractor(client(emulator))
    first = run(extractor, community(COMMUNITY), since=UNTIL - timedelta(days=2))
    before = next(p for p in records(first, "vk_posts") if p["id"] == posts[2]["id"])

    posts[2].update(
        text="Новость дня (обновлено: дорогу откроют в 18:00)", edited=int(UNTIL.timestamp()) - 60
    )
    cursors = {"wall.get": cursor_of(first, "wall.get")}
    again = run(
        extractor,
        community(COMMUNITY),
        cursors,
        since=UNTIL - timedelta(hours=1),
        until=UNTIL + timedelta(hours=1),
    )

    stored = ids(records(again, "vk_posts"))
    assert posts[2]["id"] in stored
    assert not {p["id"] for p in posts[1:]} - {posts[2]["id"]} & set(stored), "unedited old posts are not"
    after = next(p for p in records(again, "vk_posts") if p["id"] == posts[2]["id"])
    versions = [prepare(p, ENTITIES["vk_posts"]) for p in (before, after)]
    assert all(isinstance(v, Prepared) for v in versions)
    assert versions[0].key == versions[1].key and versions[0].payload_hash != versions[1].payload_hash


def test_a_post_gone_from_the_reread_window_is_marked_deleted(serve) -> None:
    posts = wall(COMMUNITY, 8, UNTIL - timedelta(hours=1), timedelta(hours=12))  # 3.5 days
    emulator = serve(make_world({COMMUNITY: posts}))
    extractor = VkExtractor(client(emulator))
    first = run(extractor, community(COMMUNITY), since=UNTIL - timedelta(days=4))
    recent_gone, old_gone = posts[1], posts[7]  # 13 hours old; 3.5 days old, out of the re-read window
    emulator.world.vk_posts[COMMUNITY].remove(recent_gone)
    emulator.world.vk_posts[COMMUNITY].remove(old_gone)

    cursors = {"wall.get": cursor_of(first, "wall.get")}
    again = run(extractor, community(COMMUNITY), cursors, since=UNTIL, until=UNTIL + timedelta(hours=1))
    deleted = records(again, "vk_deleted_posts")
    assert deleted == [{"owner_id": COMMUNITY, "post_id": recent_gone["id"], "date": recent_gone["date"]}]
    assert [b.table for b in again][:2] == ["vk_deleted_posts", "vk_posts"], (
        "marked before the cursor forgets it"
    )
    assert str(recent_gone["id"]) not in cursor_of(again, "wall.get")["recent"]
    assert emulator.calls["wall.get"] == 1 + 2, "the deletion was confirmed by a second read"

    later = run(
        extractor,
        community(COMMUNITY),
        {"wall.get": cursor_of(again, "wall.get")},
        since=UNTIL,
        until=UNTIL + timedelta(hours=2),
    )
    assert records(later, "vk_deleted_posts") == []


def test_the_generated_world_reads_the_same_batched_and_naive(serve) -> None:
    world = generate_world(date(2026, 11, 24), 3)
    since, until = world.end - timedelta(days=3), world.end
    batched_emulator, naive_emulator = serve(world), serve(world)
    batched_extractor = VkExtractor(client(batched_emulator))
    naive_extractor = VkExtractor(client(naive_emulator), calls_per_execute=1)
    sources = due_sources("vk")
    batched_extractor.prefetch(sources, since, until)
    for source in sources:
        batched = run(batched_extractor, source, since=since, until=until)
        naive = run(naive_extractor, source, since=since, until=until)
        for table in ("vk_posts", "vk_comments", "vk_groups"):
            assert ids(records(batched, table)) == ids(records(naive, table)), (source.source_id, table)
    assert batched_emulator.requests * 3 < naive_emulator.requests


def test_comments_of_an_old_post_with_an_open_incident_are_read_again(serve) -> None:
    posts = wall(COMMUNITY, 10, UNTIL - timedelta(hours=1), timedelta(days=1), comments=1)  # 10 days
    emulator = serve(make_world({COMMUNITY: posts}))
    extractor = VkExtractor(client(emulator))
    old = posts[6]  # 6 days old: out of the 3-day re-read window

    without = records(run(extractor, community(COMMUNITY)), "vk_comments")
    opened = list(extractor.extract(community(COMMUNITY), SINCE, UNTIL, {}, open_threads=[str(old["id"])]))

    assert old["id"] not in {c["post_id"] for c in without}
    reread = {c["post_id"] for c in records(opened, "vk_comments")}
    assert reread == {c["post_id"] for c in without} | {old["id"]}
