"""Old threads are re-read while an incident in them waits for its final answer.

Tuesday 24.11.2026 of the VK sandbox is extracted at 00:10 the next night, so answers given on
Wednesday are not in raw yet, and dbt builds `casework.open_incident_threads` at 00:30. A run four days
later no longer re-reads Tuesday's posts by their age (the last 3 days are); it re-reads the threads the
loader finds in the view (`read_open_threads`), and so loads the answers that came meanwhile.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest

from socmon.period import MOSCOW
from socmon.sources import extract_all
from socmon.sources.registry import due_sources
from socmon.transform import run_dbt
from socmon.warehouse.cursors import read_open_threads
from socmon_sandbox import VkEmulator, generate_world

pytestmark = pytest.mark.integration

TUESDAY = date(2026, 11, 24)
DAYS = 3
FIRST_RUN_UNTIL = datetime(2026, 11, 25, 0, 0, tzinfo=MOSCOW)
FIRST_RUN_LOADED_AT = datetime(2026, 11, 25, 0, 10, tzinfo=MOSCOW)
AS_OF = datetime(2026, 11, 25, 0, 30, tzinfo=MOSCOW)
LATER_RUN_UNTIL = datetime(2026, 11, 29, 0, 0, tzinfo=MOSCOW)  # its 3 re-read days start on Wednesday


def thread_of(key: str) -> tuple[str, str]:
    """`vk:wall-100001_7` or `vk:comment-100001_7_12` → (source `vk:-100001`, thread id `7`)."""
    owner_post = key.split(":", 1)[1].removeprefix("wall").removeprefix("comment")
    owner, post = owner_post.split("_")[:2]
    return f"vk:{owner}", post


def comment_keys(conn) -> set[str]:
    rows = conn.execute("select owner_id, post_id, comment_id from raw.vk_comments").fetchall()
    return {f"vk:comment{owner}_{post}_{comment}" for owner, post, comment in rows}


@pytest.fixture(scope="module")
def runs(warehouse, stamp_loads, tmp_path_factory) -> dict[str, Any]:
    world = generate_world(TUESDAY, DAYS)
    scratch = tmp_path_factory.mktemp("dbt")
    with (
        warehouse.connect("admin", autocommit=True) as admin,
        VkEmulator(world) as vk,
        pytest.MonkeyPatch.context() as env,
    ):
        env.setenv("SOCMON_VK_API_URL", vk.url)
        env.setenv("SOCMON_VK_RPS", "100")
        with stamp_loads(admin, FIRST_RUN_LOADED_AT):
            extract_all("vk", FIRST_RUN_UNTIL - timedelta(days=1), FIRST_RUN_UNTIL)
        run_dbt(
            [
                "build",
                "--select",
                "+open_incident_threads",
                "--exclude-resource-type",
                "test",
                "--exclude-resource-type",
                "unit_test",
                "--target-path",
                str(scratch / "target"),
                "--log-path",
                str(scratch / "logs"),
            ],
            {"as_of_at": AS_OF.isoformat()},
        )
        incidents = {key for (key,) in admin.execute("select source_message_key from casework.fct_incidents")}
        merged = {
            key for (key,) in admin.execute("select source_message_key from casework.fct_incident_messages")
        }
        before = comment_keys(admin)
        with warehouse.connect("loader") as loader:
            listed = {
                (source.source_id, thread)
                for source in due_sources("vk")
                for thread in read_open_threads(loader, source.source_id)
            }
        with stamp_loads(admin, LATER_RUN_UNTIL):
            extract_all("vk", LATER_RUN_UNTIL - timedelta(days=1), LATER_RUN_UNTIL)
        after = comment_keys(admin)
    return {
        "world": world,
        "incidents": incidents,
        "merged": merged,
        "listed": listed,
        "before": before,
        "after": after,
    }


def answered_after_the_first_run(runs: dict[str, Any]) -> dict[str, list[dict]]:
    """Tuesday's incidents found by the first build, with their official answers given on Wednesday or
    Thursday, by incident."""
    first_run_until = FIRST_RUN_UNTIL.timestamp()
    answers: dict[str, list[dict]] = {}
    for label in runs["world"].labels:
        if (
            label["kind"] == "official_answer"
            and label["answers_key"] in runs["incidents"]
            and label["published_at"] >= first_run_until
        ):
            answers.setdefault(label["answers_key"], []).append(label)
    return answers


def test_threads_of_incidents_waiting_for_an_answer_are_listed_for_the_loader(runs):
    waiting = answered_after_the_first_run(runs)
    assert len(waiting) >= 5  # the sandbox answers many of Tuesday's incidents on Wednesday
    assert {thread_of(key) for key in waiting} <= runs["listed"]
    # and only threads with an incident's message (or a copy merged into it) in them
    assert runs["listed"] <= {thread_of(key) for key in runs["merged"]}


def test_a_later_run_rereads_them_and_loads_the_answers_given_meanwhile(runs):
    answers = [
        answer["source_message_key"]
        for found in answered_after_the_first_run(runs).values()
        for answer in found
    ]
    assert answers
    assert not set(answers) & runs["before"]
    assert set(answers) <= runs["after"]
    # the comments it loaded under Tuesday's posts are those of the listed threads, no others
    tuesday_posts = {
        thread_of(label["source_message_key"])
        for label in runs["world"].labels
        if label["source_message_key"].startswith("vk:wall")
        and label["published_at"] < FIRST_RUN_UNTIL.timestamp()
    }
    new_under_tuesday = {
        thread_of(key) for key in runs["after"] - runs["before"] if thread_of(key) in tuesday_posts
    }
    assert new_under_tuesday <= runs["listed"]
