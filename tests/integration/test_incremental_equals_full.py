"""Hourly incremental runs end exactly where one full refresh of the same raw data ends.

Two generated days of VK, Telegram and OK arrive in six slices with a `dbt build` after each, in the
module's database and a temporary copy of the dbt project (the repo's seeds are never touched). Each
slice is stamped as loaded at its end, and its build evaluates the SLA at that instant (var as_of_at), so
incidents turn overdue between runs. Between slices the context changes the way it does in operation:

- slice 2: a burst of complaints (a spike) whose earliest message arrives only in slice 4;
- slice 3: a Telegram discussion's root and an OK topic (its group) arrive after their replies, which
  came in slice 1 (the OK ones from a file that names no group);
- slice 3: a citizen who commented under incidents becomes a registered official account: the comments
  become answers;
- slice 4: human corrections turn an incident of the spike and an answered incident into non-incidents,
  an edit turns another incident post into an advertisement, and the build runs with a failing data test
  on int_messages_classified, so that everything after it is skipped;
- slice 5: the build is killed (SIGKILL) as soon as int_messages_classified is written;
- slice 6: an ordinary build; then one more without new data after the rating's refresh throttle.

Then one `dbt build --full-refresh` rebuilds every model from the same raw data, registry and corrections
at the last clock, and every incremental output must equal it row for row, but for the columns that
record when a run happened.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest

from socmon.config import settings
from socmon.sources.telegram import message_payload
from socmon.transform import dbt_environment
from socmon.warehouse import server
from socmon.warehouse.loader import load_records
from socmon_sandbox import generate_world
from socmon_sandbox.social_world import MOSCOW, generate_social_world

pytestmark = pytest.mark.integration

START = date(2026, 11, 24)  # Tuesday
DAYS = 2
SLICES = 6
WORLD_START = datetime.combine(START, time(0), MOSCOW)
WORLD_END = WORLD_START + timedelta(days=DAYS)

# the spike: complaints about water in one monitored community (Армавир) within three hours
SPIKE_WALL = -100002
SPIKE_TEXTS = [
    "Третий день нет воды на улице Кирова, когда дадут воду? Куда жаловаться?",
    "Нет воды с утра во всём квартале, водоканал не отвечает, помогите",
    "У нас опять нет холодной воды, прорыв трубы никто не устраняет",
    "Вода из крана идёт ржавая, пить невозможно, сколько можно терпеть",
    "Вторые сутки без воды, дети не могут помыться, примите меры",
    "Прорвало трубу водопровода, затопило двор, аварийка не едет",
    "Отключили воду без предупреждения, когда включат?",
]
SPIKE_AUTHORS = range(61_000_001, 61_000_001 + len(SPIKE_TEXTS))
SPIKE_POST_IDS = range(990_001, 990_001 + len(SPIKE_TEXTS))
SPIKE_AT = WORLD_START + timedelta(hours=10)

# what a run records about itself, not about the data
RUN_COLUMNS = [
    "classified_at",
    "unioned_at",
    "merged_at",
    "matched_at",
    "evaluated_at",
    "evaluated_run_at",
    "refreshed_at",
    "statuses_evaluated_at",
]
OUTPUTS = [
    "intermediate.int_messages_unioned",
    "intermediate.int_message_report_scores",
    "intermediate.int_message_category_scores",
    "intermediate.int_messages_classified",
    "intermediate.int_incident_messages",
    "intermediate.int_answers_matched",
    "intermediate.int_incidents_evaluated",
    "casework.fct_messages_classified",
    "casework.fct_incidents",
    "marts.fct_incident_answers",
    "casework.fct_incident_messages",
    "marts.mart_body_rating_monthly",
    "casework.mart_incident_spikes",
    "casework.open_incident_threads",
]
# the account-compliance models do not depend on messages: left out to keep the test short
EXCLUDED = ["path:models/marts/compliance", "path:models/intermediate/compliance", "snap_account_metadata"]
FAILING_TEST = """
{{ config(enabled=var('test_inject_failing_test', false)) }}
-- fails on purpose (test_incremental_equals_full): dbt build then skips every model after the classifier
select source_message_key from {{ ref('int_messages_classified') }}
"""


@dataclass
class Arrival:
    table: str
    source_id: str
    records: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Scenario:
    slices: list[list[Arrival]]
    official_account: dict[str, str]  # registered before slice 3
    override_keys: list[str]  # declassified before slice 4


def slice_of(moment: datetime) -> int:
    """The slice (0-based) a message published at this moment arrives in."""
    share = (moment - WORLD_START) / (WORLD_END - WORLD_START)
    return min(SLICES - 1, max(0, int(share * SLICES)))


def scenario() -> Scenario:
    vk = generate_world(START, DAYS)
    social = generate_social_world(START, DAYS)
    slices: list[dict[tuple[str, str], Arrival]] = [{} for _ in range(SLICES)]

    def arrive(number: int, table: str, source_id: str, record: dict[str, Any]) -> None:
        slices[number].setdefault((table, source_id), Arrival(table, source_id)).records.append(record)

    def at(unix_seconds: float) -> int:
        return slice_of(datetime.fromtimestamp(unix_seconds, MOSCOW))

    for owner_id, posts in vk.vk_posts.items():
        for post in posts:
            arrive(at(post["date"]), "vk_posts", f"vk:{owner_id}", post)
    for (owner_id, _post_id), comments in vk.vk_comments.items():
        for comment in comments:
            for item in [comment, *((comment.get("thread") or {}).get("items") or [])]:
                arrive(at(item["date"]), "vk_comments", f"vk:{owner_id}", item)

    # an incident post edited into an advertisement, the edit arriving in slice 4 (whose build is cut short)
    edited = next(
        post
        for posts in vk.vk_posts.values()
        for post in posts
        if f"vk:wall{post['owner_id']}_{post['id']}" in incident_keys(vk) - {answered_incident(vk)}
        and at(post["date"]) <= 1
    )
    edited_text = "Продам гараж в хорошем состоянии, недорого, торг, звоните в личные сообщения"
    arrive(3, "vk_posts", f"vk:{edited['owner_id']}", {**edited, "text": edited_text})

    # the spike: its first (earliest) complaint is detected only in slice 4
    for number, (text, author, post_id) in enumerate(
        zip(SPIKE_TEXTS, SPIKE_AUTHORS, SPIKE_POST_IDS, strict=True)
    ):
        published = SPIKE_AT + timedelta(minutes=25 * number)
        post = {
            "id": post_id, "owner_id": SPIKE_WALL, "from_id": author, "date": int(published.timestamp()),
            "text": text, "post_type": "post", "marked_as_ads": 0,
        }  # fmt: skip
        arrive(3 if number == 0 else 1, "vk_posts", f"vk:{SPIKE_WALL}", post)

    # Telegram: one discussion's root (the group's copy of the post) arrives in slice 3, its replies in 1
    late_root = None
    for channel_id, channel in social.telegram.items():
        for post in channel.posts:
            arrive(slice_of(post.date), "telegram_messages", f"telegram:{channel_id}", message_payload(post))
        for thread in channel.threads.values():
            payloads = [message_payload(m) for m in [thread.root, *thread.replies]]
            if late_root is None and channel.account.source_id in MONITORED and len(thread.replies) >= 2:
                late_root = thread.root
                arrive(2, "telegram_messages", f"telegram:{channel_id}", payloads[0])
                for reply in payloads[1:]:
                    arrive(0, "telegram_messages", f"telegram:{channel_id}", reply)
                continue
            for message, payload in zip([thread.root, *thread.replies], payloads, strict=True):
                arrive(slice_of(message.date), "telegram_messages", f"telegram:{channel_id}", payload)
    assert late_root is not None

    # OK: one community topic arrives in slice 3; its comments came in slice 1 from a file naming no group
    late_topic = None
    for group_id, group in social.ok_groups.items():
        for topic in group.topics:
            comments = [{**c, "topic_id": topic["id"]} for c in group.comments.get(str(topic["id"]), [])]
            if late_topic is None and f"ok:{group_id}" in MONITORED and len(comments) >= 2:
                late_topic = topic
                arrive(2, "ok_topics", f"ok:{group_id}", {**topic, "group_id": group_id})
                for comment in comments:
                    arrive(0, "ok_comments", "file:getComments.json", comment)
                continue
            created = datetime.fromtimestamp(topic["created_ms"] / 1000, MOSCOW)
            arrive(slice_of(created), "ok_topics", f"ok:{group_id}", {**topic, "group_id": group_id})
            for comment in comments:
                commented = datetime.fromtimestamp(comment["date_ms"] / 1000, MOSCOW)
                arrive(slice_of(commented), "ok_comments", f"ok:{group_id}", comment)
    assert late_topic is not None

    return Scenario(
        slices=[list(s.values()) for s in slices],
        official_account=new_official_account(vk),
        override_keys=[f"vk:wall{SPIKE_WALL}_{SPIKE_POST_IDS[3]}", answered_incident(vk)],
    )


def _monitored() -> set[str]:
    with (settings().dbt_project_dir / "seeds" / "registry" / "monitored_communities.csv").open() as f:
        return {row["source_id"] for row in csv.DictReader(f)}


MONITORED = _monitored()


def incident_keys(vk: Any) -> set[str]:
    return {label["source_message_key"] for label in vk.labels if label["is_incident"]}


def answered_incident(vk: Any) -> str:
    """The first VK post incident answered on time, published in the first two slices."""
    return next(
        label["source_message_key"]
        for label in vk.labels
        if label["is_incident"]
        and label["source_message_key"].startswith("vk:wall")
        and label.get("answer_timing") == "on_time"
        and slice_of(datetime.fromtimestamp(label["published_at"], MOSCOW)) <= 1
    )


def new_official_account(vk: Any) -> dict[str, str]:
    """A citizen who commented under incident posts, registered later as an official account."""
    incident_posts = {
        label["source_message_key"]
        for label in vk.labels
        if label["is_incident"] and "wall" in label["source_message_key"]
    }
    counts: dict[int, int] = {}
    for (owner_id, post_id), comments in vk.vk_comments.items():
        if f"vk:wall{owner_id}_{post_id}" in incident_posts:
            for comment in comments:
                if comment["from_id"] > 0:
                    counts[comment["from_id"]] = counts.get(comment["from_id"], 0) + 1
    author = max(counts, key=lambda a: (counts[a], a))
    return {
        "account_key": f"vk:{author}", "platform": "vk", "account_id": str(author),
        "screen_name": f"id{author}", "body_code": "mintrans", "tier": "executive_body",
        "name_ru": "Министерство транспорта и дорожного хозяйства Краснодарского края",
    }  # fmt: skip


# --- the warehouse and the dbt project --------------------------------------------------------------


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A copy of the dbt project, with a data test that fails when asked to."""
    copy = tmp_path_factory.mktemp("incremental") / "dbt_project"
    shutil.copytree(
        settings().dbt_project_dir, copy, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages")
    )
    (copy / "tests" / "assert_injected_failure.sql").write_text(FAILING_TEST, encoding="utf-8")
    return copy


def append_row(path: Path, row: dict[str, str]) -> None:
    with path.open(encoding="utf-8", newline="") as f:
        columns = list(csv.DictReader(f).fieldnames or [])
    with path.open("a", encoding="utf-8", newline="") as f:
        csv.DictWriter(f, fieldnames=columns).writerow({c: row.get(c, "") for c in columns})


def override(key: str) -> dict[str, str]:
    return {
        "source_message_key": key, "is_incident": "false", "non_incident_reason": "out_of_scope",
        "override_by": "test", "override_reason": "reported elsewhere", "overridden_at": "2026-11-25",
    }  # fmt: skip


def dbt_command(
    project: Path, as_of: datetime, *extra: str, tests: bool = False, **dbt_vars: Any
) -> list[str]:
    """`dbt build` of the incident engine in the project copy; data tests only when asked (they take half
    the time and decide nothing here but the skipped slice). The lookback is 0: the slices are loaded a
    minute apart, and a 60-minute lookback would re-read everything and hide a lost watermark."""
    dbt = Path(sys.executable).with_name("dbt")
    return [
        str(dbt), "build", *extra,
        "--project-dir", str(project), "--profiles-dir", str(project),
        "--target-path", str(project / "target"), "--log-path", str(project / "logs"),
        "--exclude", *EXCLUDED, "--exclude-resource-type", "unit_test", *([] if tests else ["test"]),
        "--vars", json.dumps({"as_of_at": as_of.isoformat(), "incremental_lookback_minutes": 0, **dbt_vars}),
    ]  # fmt: skip


def dbt_build(
    project: Path, as_of: datetime, *extra: str, expect_success: bool = True, **dbt_vars: Any
) -> str:
    run = subprocess.run(
        dbt_command(project, as_of, *extra, **dbt_vars),
        env={**os.environ, **dbt_environment()},
        capture_output=True,
        text=True,
        check=False,
    )
    if (run.returncode == 0) != expect_success:
        raise AssertionError(
            f"dbt build exited {run.returncode}:\n{run.stdout[-6000:]}\n{run.stderr[-2000:]}"
        )
    return run.stdout


def dbt_build_killed_after(project: Path, as_of: datetime, model: str) -> None:
    """Start a build and kill it (SIGKILL, with its connections) as soon as `model` is written."""
    written = re.compile(rf"OK (created|inserted).*\b{re.escape(model)}\b")
    process = subprocess.Popen(
        dbt_command(project, as_of),
        env={**os.environ, **dbt_environment()},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    assert process.stdout is not None
    seen = []
    for line in process.stdout:
        seen.append(line)
        if written.search(line):
            os.killpg(process.pid, signal.SIGKILL)
            break
    process.wait()
    assert process.returncode == -signal.SIGKILL, "the build ended before it could be killed:\n" + "".join(
        seen
    )
    with server.connect("admin", autocommit=True) as conn:
        conn.execute(
            "select pg_terminate_backend(pid) from pg_stat_activity"
            " where datname = current_database() and pid <> pg_backend_pid()"
        )


def load(arrivals: list[Arrival], stamp_loads: Any, at: datetime) -> None:
    """Load a slice as the loader does, stamped as loaded at `at` (the slice's end)."""
    with (
        server.connect("admin", autocommit=True) as admin,
        stamp_loads(admin, at),
        server.connect("loader") as conn,
    ):
        for arrival in arrivals:
            load_records(conn, arrival.table, arrival.records, arrival.source_id, "test-incremental")
        conn.commit()


def slice_end(number: int) -> datetime:
    return WORLD_START + (WORLD_END - WORLD_START) * (number + 1) / SLICES


def outputs() -> dict[str, list[str]]:
    """Every incremental output, as sorted JSON rows without the run columns."""
    with server.connect("admin") as conn:
        return {
            table: [
                row
                for (row,) in conn.execute(
                    f"select (to_jsonb(t) - %s::text[])::text from {table} as t order by 1", [RUN_COLUMNS]
                )
            ]
            for table in OUTPUTS
        }


@pytest.fixture(scope="module")
def built_both_ways(warehouse, stamp_loads, project) -> dict[str, dict[str, list[str]]]:
    world = scenario()
    registry = project / "seeds" / "registry" / "official_accounts.csv"
    overrides = project / "seeds" / "overrides" / "classification_overrides.csv"
    for number, arrivals in enumerate(world.slices):
        as_of = slice_end(number)
        load(arrivals, stamp_loads, as_of)
        if number == 2:
            append_row(registry, world.official_account)
        if number == 3:
            for key in world.override_keys:
                append_row(overrides, override(key))
            output = dbt_build(
                project, as_of, expect_success=False, tests=True, test_inject_failing_test=True
            )
            assert re.search(r"SKIP=[1-9]", output), output[-3000:]
        elif number == 4:
            dbt_build_killed_after(project, as_of, "int_messages_classified")
        else:
            dbt_build(project, as_of)
    # the throttled rating catches up on the next run after its refresh interval, with nothing new
    dbt_build(project, slice_end(SLICES - 1), rating_refresh_hours=0)
    incremental = outputs()
    dbt_build(project, slice_end(SLICES - 1), "--full-refresh")
    return {"incremental": incremental, "full": outputs()}


@pytest.mark.parametrize("table", OUTPUTS)
def test_incremental_runs_end_where_a_full_refresh_ends(built_both_ways, table):
    incremental, full = built_both_ways["incremental"][table], built_both_ways["full"][table]
    assert full, f"{table} is empty: the scenario does not exercise it"
    only_incremental = sorted(set(incremental) - set(full))
    only_full = sorted(set(full) - set(incremental))
    assert (only_incremental, only_full) == ([], []) and len(incremental) == len(full), (
        f"{table}: {len(incremental)} rows incrementally, {len(full)} by a full refresh;\n"
        f"only incremental ({len(only_incremental)}): {only_incremental[:3]}\n"
        f"only full refresh ({len(only_full)}): {only_full[:3]}"
    )


def test_the_unit_tests_of_incremental_runs_pass_on_the_built_warehouse(built_both_ways, project):
    """The dbt unit tests with is_incremental true and `this` as input need their models built (dbt reads
    the columns of `this`), so they run here, behind var incremental_unit_tests, on the warehouse built."""
    run = subprocess.run(
        [
            str(Path(sys.executable).with_name("dbt")), "test", "--select", "tag:incremental_unit",
            "--project-dir", str(project), "--profiles-dir", str(project),
            "--target-path", str(project / "target"), "--log-path", str(project / "logs"),
            "--vars", json.dumps({"incremental_unit_tests": True}),
        ],
        env={**os.environ, **dbt_environment()},
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    assert run.returncode == 0 and "PASS=3 " in run.stdout, run.stdout[-4000:]


def test_a_table_rebuilt_on_every_run_keeps_its_index(built_both_ways, project):
    """int_working_periods is rebuilt by every cycle, and SLA deadlines look periods up by their start:
    its index must be there after each rebuild, not after every other one."""
    for _ in range(2):
        dbt_build(project, slice_end(SLICES - 1), "--select", "int_working_periods")
        with server.connect("admin") as conn:
            indexes = conn.execute(
                "select indexdef from pg_indexes"
                " where schemaname = 'intermediate' and tablename = 'int_working_periods'"
            ).fetchall()
        assert [d for (d,) in indexes if d.endswith("(period_start_at)")], indexes


def test_a_lookback_re_read_rewrites_only_what_changed(built_both_ways, project):
    """A run re-reads what was loaded within the lookback before its watermark, most of it written by the
    run before. A message already written with the same raw version keeps its row (and its unioned_at, the
    watermark of everything downstream), or every run would classify the last run's batch a second time;
    only the replies whose thread root is in the window are rewritten, for their context. Runs last, on the
    warehouse the full refresh left."""
    stamps = (
        "select source_message_key, platform, message_kind, unioned_at from intermediate.int_messages_unioned"
    )
    with server.connect("admin") as conn:
        before = {key: tuple(rest) for key, *rest in conn.execute(stamps)}
    lookback_over_everything = (DAYS + 1) * 24 * 60
    dbt_build(
        project,
        slice_end(SLICES - 1),
        incremental_lookback_minutes=lookback_over_everything,
        rating_refresh_hours=0,
    )
    with server.connect("admin") as conn:
        after = {key: tuple(rest) for key, *rest in conn.execute(stamps)}
    rewritten = {key: after[key][:2] for key in after if after[key] != before.get(key)}
    assert after.keys() == before.keys()
    assert len(rewritten) < len(after) and set(rewritten.values()) <= {
        ("telegram", "comment"),
        ("ok", "comment"),
    }, f"{len(rewritten)} of {len(after)} messages rewritten: {sorted(set(rewritten.values()))}"
    assert outputs() == built_both_ways["full"]
