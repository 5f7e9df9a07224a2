"""VK extraction into raw loses nothing: not to failing requests, malformed items, edits or deletions.

The registry's VK sources are read from the emulator over a generated 3-day world with the real
`extract_batch_into_raw` (and so `extract_into_raw`), into the test database.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import pytest

from socmon.sources import extract_batch_into_raw
from socmon.sources.quota import token_fingerprint
from socmon.sources.registry import due_sources, print_sources
from socmon.sources.vk import VkClient, VkExtractor
from socmon.warehouse import loader
from socmon_sandbox import VkEmulator, World, generate_world
from socmon_sandbox.faults import transient_fault_mix
from socmon_sandbox.world import MOSCOW

pytestmark = pytest.mark.integration

FIRST_DAY = date(2026, 11, 24)
CLIENT_TIMEOUT_SECONDS = 0.2
FAULT_SHARE = 0.2
COMMUNITY = -100002  # «Подслушано Армавир»

ROWS = {
    "vk_posts": "select owner_id, post_id, payload_hash from raw.vk_posts",
    "vk_comments": "select owner_id, comment_id, payload_hash from raw.vk_comments",
    "vk_groups": "select group_id, payload_hash from raw.vk_groups",
    "cursors": "select source_id, method, cursor::text from raw.source_cursors",
}


@pytest.fixture
def raw(empty_raw) -> Any:
    """An empty raw schema (conftest's `empty_raw`), as the owner."""
    return empty_raw


@pytest.fixture(scope="module")
def world() -> World:
    return generate_world(FIRST_DAY, 3)


def _rows(conn) -> dict[str, set[tuple]]:
    return {name: set(conn.execute(query).fetchall()) for name, query in ROWS.items()}


def _extractor(emulator: VkEmulator, calls_per_execute: int = 25) -> VkExtractor:
    client = VkClient(
        "sandbox-token",
        api_url=emulator.url,
        requests_per_second=1_000,
        retry_budget=8,
        timeout_seconds=CLIENT_TIMEOUT_SECONDS,
        backoff_seconds=0.01,
        max_backoff_seconds=0.05,
    )
    return VkExtractor(client, calls_per_execute=calls_per_execute)


def _extract(extractor: VkExtractor, since: datetime, until: datetime) -> dict[str, int]:
    return extract_batch_into_raw([s.as_dict() for s in due_sources("vk")], since, until, extractor)


@pytest.mark.parametrize("calls_per_execute", [25, 1], ids=["batched", "naive"])
def test_failing_requests_change_nothing_in_raw(raw, world, calls_per_execute) -> None:
    since, until = world.end - timedelta(days=3), world.end
    with VkEmulator(world) as emulator:
        _extract(_extractor(emulator, calls_per_execute), since, until)
        clean = _rows(raw)
        clean_requests = emulator.requests

        loader.empty_raw(raw)
        emulator.faults.extend(
            transient_fault_mix(3 * clean_requests, FAULT_SHARE, timeout_seconds=CLIENT_TIMEOUT_SECONDS)
        )
        _extract(_extractor(emulator, calls_per_execute), since, until)
        faulty_requests = emulator.requests - clean_requests
        emulator.faults.clear()

    assert clean["vk_posts"] and clean["vk_comments"] and clean["vk_groups"]
    assert _rows(raw) == clean
    assert emulator.faults_served >= 0.10 * faulty_requests, "at least a tenth of the requests failed"
    assert raw.execute("select count(*) from raw.rejected").fetchone()[0] == 0


def test_malformed_items_are_rejected_while_the_rest_loads(raw, world) -> None:
    since, until = world.end - timedelta(days=3), world.end
    at = int((until - timedelta(hours=5)).timestamp())
    bad_posts = [
        {"id": 1, "date": at, "text": "без владельца"},
        {"id": 2, "owner_id": COMMUNITY, "date": at, "text": 12345},
        {"id": "third", "owner_id": COMMUNITY, "date": at, "text": "id строкой"},
        {"id": 4, "owner_id": COMMUNITY, "date": at, "text": "одинокий \ud83d суррогат"},
        42,
    ]
    bad_comment = {"owner_id": COMMUNITY, "post_id": 7, "date": at, "text": "без id"}
    with VkEmulator(world) as emulator:
        _extract(_extractor(emulator), since, until)
        clean = _rows(raw)

        loader.empty_raw(raw)
        emulator.faults.extend(
            [
                {"method": "wall.get", "extra_items": bad_posts},
                {"method": "wall.getComments", "extra_items": [bad_comment]},
            ]
        )
        _extract(_extractor(emulator), since, until)

    loaded = _rows(raw)
    assert {k: v for k, v in loaded.items() if k != "cursors"} == {
        k: v for k, v in clean.items() if k != "cursors"
    }
    reasons = raw.execute("select entity, reason from raw.rejected order by entity, reason").fetchall()
    assert reasons == [
        ("vk_comments", "missing field 'id'"),
        ("vk_posts", "field 'id' should be an integer, got str: 'third'"),
        ("vk_posts", "field 'text' should be a string, got int: 12345"),
        ("vk_posts", "invalid Unicode: lone surrogate (surrogates not allowed)"),
        ("vk_posts", "missing field 'owner_id'"),
        ("vk_posts", "not a JSON object but int"),
    ]


def test_edits_are_versions_and_deletions_are_marks_never_drops(raw, world) -> None:
    day_two_end = world.end - timedelta(days=1)
    posts = world.vk_posts[COMMUNITY]
    edited, deleted = [p for p in posts if not p.get("is_pinned") and p["date"] < day_two_end.timestamp()][:2]
    original = dict(edited)
    with VkEmulator(world) as emulator:
        extractor = _extractor(emulator)
        _extract(extractor, world.end - timedelta(days=3), day_two_end)
        try:
            edited.update(
                text=edited["text"] + " (UPD: ответ получен)", edited=int(day_two_end.timestamp()) + 60
            )
            posts.remove(deleted)
            _extract(extractor, day_two_end, world.end)
            _extract(extractor, day_two_end, world.end + timedelta(hours=1))  # the next run: nothing new
        finally:
            edited.clear()
            edited.update(original)
            posts.append(deleted)
            posts.sort(key=lambda p: -p["id"])

    versions = raw.execute(
        "select payload ->> 'text' from raw.vk_posts where owner_id = %s and post_id = %s order by loaded_at",
        [COMMUNITY, edited["id"]],
    ).fetchall()
    assert [text for (text,) in versions] == [original["text"], original["text"] + " (UPD: ответ получен)"]
    assert raw.execute(
        "select count(*) from raw.vk_posts where owner_id = %s and post_id = %s", [COMMUNITY, deleted["id"]]
    ).fetchone() == (1,), "the deleted post stays in raw"
    marks = raw.execute(
        "select owner_id, post_id, source_id, payload ->> 'date' from raw.vk_deleted_posts"
    ).fetchall()
    assert marks == [(COMMUNITY, deleted["id"], f"vk:{COMMUNITY}", str(deleted["date"]))]


def test_refused_reads_are_recorded_on_the_source_and_the_run_goes_on(raw, world) -> None:
    since, until = world.end - timedelta(days=3), world.end
    closed, commented = -100001, COMMUNITY
    with VkEmulator(world) as emulator:
        emulator.access_errors[("wall.get", closed)] = 203
        emulator.access_errors[("wall.getComments", commented)] = 212
        _extract(_extractor(emulator), since, until)

    errors = dict(
        raw.execute(
            "select source_id || ' ' || method, last_error from raw.source_cursors"
            " where last_error is not null"
        ).fetchall()
    )
    assert set(errors) == {f"vk:{closed} wall.get", f"vk:{commented} wall.getComments"}
    assert errors[f"vk:{closed} wall.get"].startswith("VK error 203 (access to the community denied)")
    assert errors[f"vk:{commented} wall.getComments"].startswith(
        "VK error 212 (no access to the post's comments)"
    )
    loaded_walls = {
        owner for (owner,) in raw.execute("select distinct owner_id from raw.vk_posts").fetchall()
    }
    assert closed not in loaded_walls and commented in loaded_walls


def test_a_daily_limit_holds_for_later_runs_until_it_resets(raw, world, capsys) -> None:
    since, until = world.end - timedelta(days=1), world.end
    with VkEmulator(world) as emulator:
        emulator.faults.append({"error_code": 29, "method": "wall.getComments"})
        _extract(_extractor(emulator), since, until)
        calls = emulator.calls["wall.getComments"]
        _extract(_extractor(emulator), since, until)  # a new client, as in the next hour's task
        assert emulator.calls["wall.getComments"] == calls, "the stopped method was not called again"

    [(platform, fingerprint, method, stopped_until)] = raw.execute(
        "select platform, token_fingerprint, method, stopped_until from raw.quota_stops"
    ).fetchall()
    assert (platform, method) == ("vk", "wall.getComments")
    assert fingerprint == token_fingerprint("sandbox-token") != "sandbox-token"
    assert stopped_until.astimezone(MOSCOW).time() == time(0), "until midnight in Moscow"
    errors = raw.execute(
        "select last_error from raw.source_cursors where method = 'wall.getComments'"
    ).fetchall()
    assert errors and all(e.startswith("VK error 29 (daily limit reached)") for (e,) in errors)

    print_sources()  # socmon sources list
    assert f"vk token {fingerprint}: wall.getComments stopped until " in capsys.readouterr().out
