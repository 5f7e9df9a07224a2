"""The whole pipeline on generated sandbox data, through the real DAGs (`airflow dags test`).

Three generated days are extracted from the VK, OK and Telegram sandboxes by `socmon_extract`,
transformed by `socmon_transform` (dbt build) and published by `socmon_publish` (GX gate, then the
exports), on a fixed clock. The marts are compared with the sandbox's ground truth: which messages
exist and which are incidents, when each incident was first answered and whether on time; deadlines are
counted again here from socmon.calendar.
"""

import csv
import hashlib
import hmac
import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
import pytest
from psycopg import sql

from socmon.calendar import build_calendar, calendar_dir, read_overrides
from socmon.config import settings
from socmon.orchestration import airflow_environment, dags_test, ensure_airflow
from socmon.warehouse import server
from socmon_sandbox import generate_world, running_sandbox
from socmon_sandbox.social_world import generate_social_world

pytestmark = pytest.mark.integration

MOSCOW = ZoneInfo("Europe/Moscow")
FIRST_DAY = date(2026, 11, 24)  # Tue–Thu; the report covers Thursday 2026-11-26
DAYS = 3
# The fixed clock: extraction caught up on the three days at 07:00 on Friday, the transform evaluated
# the SLA at 08:00, and the 09:00 publish reports Thursday.
LOADED_AT = datetime(2026, 11, 27, 7, 0, tzinfo=MOSCOW)
AS_OF = datetime(2026, 11, 27, 8, 0, tzinfo=MOSCOW)
PUBLISH_AT = datetime(2026, 11, 27, 9, 0, tzinfo=MOSCOW)


def day_window(day: date) -> dict:
    start = datetime.combine(day, datetime.min.time(), MOSCOW)
    return {"window_start": start.isoformat(), "window_end": (start + timedelta(days=1)).isoformat()}


def raw_counts(conn) -> tuple[int, int]:
    return conn.execute(
        "select (select count(*) from raw.vk_posts), (select count(*) from raw.vk_comments)"
    ).fetchone()


@pytest.fixture(scope="module")
def world():
    return generate_world(FIRST_DAY, DAYS)


@pytest.fixture(scope="module")
def pipeline(warehouse, world, tmp_path_factory, stamp_loads):
    """Runs the three DAGs once for the module; yields the Airflow environment used."""
    logs = tmp_path_factory.mktemp("dag-logs")
    for artifacts in ("target", "logs"):  # what the key test greps is what this run left
        shutil.rmtree(settings().dbt_project_dir / artifacts, ignore_errors=True)
    with (
        warehouse.connect("admin", autocommit=True) as admin,
        stamp_loads(admin, LOADED_AT),
        running_sandbox(FIRST_DAY, DAYS) as sandbox,
    ):
        env = airflow_environment(sandbox.connections)
        ensure_airflow(env)
        # each DAG gets only its roles' warehouse connections, as compose's workers do (a task reads no
        # credentials file): extraction the loader's, the transform its own, publishing the officers'
        # and the transform's (the gate runs dbt's daily tests)
        extract_env = airflow_environment(sandbox.connections, warehouse_roles=["loader"])
        for offset in range(DAYS):
            day = FIRST_DAY + timedelta(days=offset)
            window_end = datetime.fromisoformat(day_window(day)["window_end"])
            dags_test(
                "socmon_extract",
                window_end,
                extract_env,
                conf=day_window(day),
                log_file=logs / f"extract-{day}.log",
            )
        counts_after_first_pass = raw_counts(admin)
        # the same window again: nothing new may appear
        last_day = FIRST_DAY + timedelta(days=DAYS - 1)
        dags_test(
            "socmon_extract",
            datetime.fromisoformat(day_window(last_day)["window_end"]) + timedelta(hours=1),
            extract_env,
            conf=day_window(last_day),
            log_file=logs / "extract-again.log",
        )
    dags_test(
        "socmon_transform",
        AS_OF,
        airflow_environment(sandbox.connections, warehouse_roles=["transform"]),
        conf={"as_of_at": AS_OF.isoformat()},
        log_file=logs / "transform.log",
    )
    publish_env = airflow_environment(sandbox.connections, warehouse_roles=["officer", "transform"])
    dags_test("socmon_publish", PUBLISH_AT, publish_env, log_file=logs / "publish.log")
    return {"env": env, "counts_after_first_pass": counts_after_first_pass, "logs": logs}


@pytest.fixture(scope="module")
def truth(world) -> dict[str, dict]:
    """The sandbox's ground truth (VK, OK and Telegram) of every message published in the window."""
    start = datetime.combine(FIRST_DAY, datetime.min.time(), MOSCOW).timestamp()
    end = start + DAYS * 86400
    labels = [*world.labels, *generate_social_world(FIRST_DAY, DAYS).labels]
    return {label["source_message_key"]: label for label in labels if start <= label["published_at"] < end}


def working_deadline(clock_start: datetime, duration: timedelta) -> datetime:
    """`duration` of working time after `clock_start` in socmon.calendar's working days (Moscow hours,
    the lunch break off), counted here independently of the dbt models."""
    calendar = {
        day.calendar_date: day
        for day in build_calendar(
            years=(2026, 2027), overrides=read_overrides(calendar_dir() / "calendar_overrides.csv")
        )
    }
    at, remaining = clock_start.astimezone(MOSCOW), duration
    day = at.date()
    while True:
        hours = calendar[day].hours
        if hours:
            for opens, closes in ((hours.work_start, hours.break_start), (hours.break_end, hours.work_end)):
                begin = max(datetime.combine(day, opens, MOSCOW), at)
                end = datetime.combine(day, closes, MOSCOW)
                if begin >= end:
                    continue
                if remaining <= end - begin:
                    return begin + remaining
                remaining -= end - begin
        day += timedelta(days=1)


@pytest.fixture
def officer(warehouse):
    with warehouse.connect("officer") as conn:
        yield conn


def test_every_generated_message_reaches_raw_once(pipeline, warehouse, world):
    window_start = datetime.combine(FIRST_DAY, datetime.min.time(), MOSCOW).timestamp()
    window_end = window_start + DAYS * 86400
    expected_posts = sum(
        1 for posts in world.vk_posts.values() for p in posts if window_start <= p["date"] < window_end
    )
    with warehouse.connect("admin") as conn:
        posts, comments = raw_counts(conn)
        distinct_posts = conn.execute(
            "select count(distinct (owner_id, post_id)) from raw.vk_posts"
        ).fetchone()[0]
    assert posts == distinct_posts == expected_posts
    assert comments > 0
    assert (posts, comments) == pipeline["counts_after_first_pass"]


def test_every_generated_message_is_classified_and_incidents_found(pipeline, officer, truth):
    classified = dict(
        officer.execute(
            "select source_message_key, is_incident from casework.fct_messages_classified"
        ).fetchall()
    )
    # everything citizens, communities and officials published in the window, once; the discussion
    # group's copy of a Telegram channel post (its thread root) is the post itself, not a message
    generated = {key: label for key, label in truth.items() if label["kind"] != "thread_root"}
    assert set(classified) == set(generated)
    truly = {key for key, label in generated.items() if label["is_incident"]}
    found = {key for key, is_incident in classified.items() if is_incident}
    recall = len(truly & found) / len(truly)
    precision = len(truly & found) / len(found)
    assert recall >= 0.95, f"recall {recall:.3f}"
    assert precision >= 0.95, f"precision {precision:.3f}"


def test_incidents_carry_body_municipality_and_the_working_hours_deadline(pipeline, officer, truth):
    rows = officer.execute(
        """
        select source_message_key, responsible_body_code, municipality_code, published_at, detected_at,
            clock_start_at, deadline_at, importance
        from casework.fct_incidents
        """
    ).fetchall()
    assert rows
    assert all(body for _, body, *_ in rows)
    assert sum(1 for _, _, municipality, *_ in rows if municipality) >= 0.8 * len(rows)
    backfilled = 0
    for key, _, _, published_at, detected_at, clock_start_at, deadline_at, importance in rows:
        assert published_at.timestamp() == truth[key]["published_at"], key
        assert detected_at == LOADED_AT, key
        # the clock starts at detection, or at publication for a message detected over 24 hours later
        if detected_at - published_at > timedelta(hours=24):
            clock_start, backfilled = published_at, backfilled + 1
        else:
            clock_start = detected_at
        assert clock_start_at == clock_start, key
        expected = working_deadline(clock_start, timedelta(hours=4 if importance == "high" else 8))
        assert abs(deadline_at - expected) < timedelta(seconds=1), (key, importance, clock_start)
    assert 0 < backfilled < len(rows)  # both rules are exercised


def test_the_sla_status_follows_the_sandbox_answers(pipeline, officer, truth):
    first_answer = {}
    for label in truth.values():
        if label["kind"] == "official_answer":
            incident, at = label["answers_key"], label["published_at"]
            first_answer[incident] = min(first_answer.get(incident, at), at)
    rows = officer.execute(
        "select source_message_key, first_answer_at, deadline_at, sla_status from casework.fct_incidents"
    ).fetchall()
    statuses = Counter()
    for key, first_answer_at, deadline_at, status in rows:
        label = truth[key]
        assert label["is_incident"], key
        assert (first_answer_at.timestamp() if first_answer_at else None) == first_answer.get(key), key
        expected = {
            "on_time": "answered_on_time",
            "late": "answered_late",
            None: "overdue" if deadline_at < AS_OF else "open",
        }[label["answer_timing"]]
        assert status == expected, (key, label["answer_timing"], first_answer_at, deadline_at)
        statuses[status] += 1
    assert set(statuses) == {"answered_on_time", "answered_late", "overdue", "open"}, statuses


def test_official_replies_in_the_threads_are_the_incidents_answers_on_every_network(pipeline, officer, truth):
    """VK comments, OK comments and Telegram replies in a channel's discussion group, made by an
    official account (a Telegram body answers as its channel), are the answers of the incident."""
    rows = officer.execute(
        """
        select incidents.source_message_key, answers.answer_message_key, answers.answered_at,
            answers.platform
        from marts.fct_incident_answers as answers
        inner join casework.fct_incidents as incidents
            on incidents.incident_id = answers.incident_id
        """
    ).fetchall()
    found = {key for (key,) in officer.execute("select source_message_key from casework.fct_incidents")}
    expected = {
        (label["answers_key"], key)
        for key, label in truth.items()
        if label["kind"] == "official_answer" and label["answers_key"] in found
    }
    assert {(incident, answer) for incident, answer, *_ in rows} == expected
    for _, answer, answered_at, _ in rows:
        assert answered_at.timestamp() == truth[answer]["published_at"], answer
    per_platform = Counter(platform for *_, platform in rows)
    assert per_platform["telegram"] >= 10 and per_platform["ok"] >= 10 and per_platform["vk"] >= 10


def test_the_daily_export_is_written_in_russian(pipeline):
    report_day = (FIRST_DAY + timedelta(days=DAYS - 1)).isoformat()
    folder = settings().out_dir / report_day
    files = sorted(p.name for p in folder.iterdir())
    assert files == sorted(
        [
            f"socmon_incidents_{report_day}.xlsx",
            f"socmon_incidents_{report_day}.csv",
            f"socmon_report_{report_day}.html",
        ]
    )
    with (folder / f"socmon_incidents_{report_day}.csv").open(encoding="utf-8-sig") as f:
        rows = list(csv.reader(f, delimiter=";"))
    assert any("Ответственный орган" in header for header in rows[0])
    assert len(rows) > 1
    html = (folder / f"socmon_report_{report_day}.html").read_text(encoding="utf-8")
    assert "<svg" in html and 'lang="ru"' in html


def test_the_loader_reads_which_threads_to_reread_and_nothing_else_in_marts(pipeline, warehouse):
    with warehouse.connect("admin") as conn:
        incidents = conn.execute(
            """
            select incidents.incident_id, coalesce(incidents.final_deadline_at, incidents.deadline_at),
                incidents.final_answer_at, messages.platform, messages.thread_root_key
            from casework.fct_incidents as incidents
            inner join casework.fct_incident_messages as merged
                on merged.incident_id = incidents.incident_id
            inner join intermediate.int_messages_unioned as messages
                on messages.source_message_key = merged.source_message_key
            """
        ).fetchall()
    waiting = {}  # (platform, thread root) -> the incidents there still waiting for a final answer
    for incident_id, final_deadline_at, final_answer_at, platform, thread_root_key in incidents:
        if final_answer_at is None and final_deadline_at + timedelta(days=7) > AS_OF:
            waiting.setdefault((platform, thread_root_key), set()).add(incident_id)
    with warehouse.connect("loader") as conn:
        listed = conn.execute(
            "select platform, thread_root_key, open_incident_count from casework.open_incident_threads"
        ).fetchall()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("select 1 from casework.fct_incidents")
    assert len(waiting) > 100  # at the fixed clock most incidents are days from their final deadline
    assert {(platform, root): count for platform, root, count in listed} == {
        thread: len(ids) for thread, ids in waiting.items()
    }


def test_authors_are_pseudonymised_with_the_warehouse_key(pipeline, warehouse):
    key = server.pseudonym_key().encode()
    with warehouse.connect("admin") as conn:
        authors = conn.execute(
            "select incidents.platform, evaluated.author_id, incidents.author_key"
            " from casework.fct_incidents as incidents"
            " join intermediate.int_incidents_evaluated as evaluated using (source_message_key)"
        ).fetchall()
    assert authors
    for platform, author_id, author_key in authors:
        expected = hmac.new(key, f"{platform}:{author_id}".encode(), hashlib.sha256).hexdigest()
        assert author_key == expected, (platform, author_id)


def test_the_pseudonym_key_is_in_no_dbt_artifact_and_no_airflow_log(pipeline):
    key = server.pseudonym_key().encode()
    airflow_home = Path(pipeline["env"]["AIRFLOW_HOME"])
    dbt = settings().dbt_project_dir
    searched = [dbt / "target", dbt / "logs", airflow_home / "logs", pipeline["logs"]]
    files = [path for folder in searched if folder.exists() for path in folder.rglob("*") if path.is_file()]
    assert any(path.suffix == ".log" for path in files)  # the DAG runs left logs to search
    assert any(path.name == "manifest.json" for path in files)
    assert [path for path in files if key in path.read_bytes()] == []


def citizen_traces(conn) -> tuple[set[str], set[str]]:
    """What identifies the citizens of the generated world, taken from what was loaded: the text, link
    and key of each message users wrote (substrings to look for) and their ids (values to look for)."""
    rows = conn.execute(
        "select message_text, message_url, source_message_key, author_id"
        " from intermediate.int_messages_unioned where author_kind = 'user'"
    ).fetchall()
    # an OK comment's link is its topic's (OK has no link to a comment): that names no citizen
    topics = {url for (url,) in conn.execute(
        "select message_url from intermediate.int_messages_unioned"
        " where platform = 'ok' and message_kind = 'comment'"
    )}  # fmt: skip
    texts = {text.strip() for text, *_ in rows if text and len(text.strip()) >= 20}
    links = {value for _, url, key, _ in rows for value in (url, key) if value and value not in topics}
    ids = {author_id for *_, author_id in rows if author_id and len(author_id) >= 4}
    return texts | links, ids


def relations_readable_by(conn) -> list[tuple[str, str]]:
    return conn.execute(
        "select table_schema, table_name from information_schema.tables"
        " where table_schema not in ('pg_catalog', 'information_schema')"
        " and has_table_privilege(format('%I.%I', table_schema, table_name), 'select')"
        " order by 1, 2"
    ).fetchall()


def test_bi_can_read_no_citizen_text_link_or_id_anywhere(pipeline, warehouse):
    with warehouse.connect("admin") as conn:
        substrings, ids = citizen_traces(conn)
    assert len(substrings) > 100 and len(ids) > 10
    found = {}
    with warehouse.connect("bi") as bi:
        relations = relations_readable_by(bi)
        assert ("marts", "fct_incidents") in relations
        for schema, table in relations:
            cells = [
                str(value)
                for (row,) in bi.execute(
                    sql.SQL("select to_jsonb(t) from {} as t").format(sql.Identifier(schema, table))
                )
                for value in row.values()
                if value is not None
            ]
            haystack = "\x00".join(cells)
            leaked = {needle for needle in substrings if needle in haystack} | (ids & set(cells))
            if leaked:
                found[f"{schema}.{table}"] = sorted(leaked)[:3]
    assert found == {}


def test_officers_read_the_casework_with_text_link_and_thread(pipeline, warehouse):
    with warehouse.connect("officer") as officer:
        incidents = officer.execute(
            "select count(*), count(message_text), count(message_url), count(source_message_key),"
            " count(thread_root_key) from casework.fct_incidents"
        ).fetchone()
        messages = officer.execute(
            "select count(*), count(source_message_key), count(thread_root_key)"
            " from casework.fct_messages_classified"
        ).fetchone()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            officer.execute("select 1 from raw.vk_posts")
    assert incidents[0] > 100 and len(set(incidents)) == 1
    assert messages[0] > incidents[0] and len(set(messages)) == 1


# ---- erasure: last in the module, since it removes a citizen from the warehouse the tests above read ----


def test_forget_leaves_nothing_of_the_person_in_a_dump_and_records_the_request(pipeline, warehouse):
    out = settings().out_dir
    exported = "".join(path.read_text("utf-8-sig") for path in out.rglob("*.csv"))
    with warehouse.connect("admin") as conn:
        citizens = conn.execute(
            "select author_id, message_url from intermediate.int_messages_unioned"
            " where platform = 'vk' and author_kind = 'user' and length(author_id) >= 4"
        ).fetchall()
        listed = Counter(author for author, url in citizens if url and url in exported)
        author_id = listed.most_common(1)[0][0]  # a citizen the exported lists show
        messages = sum(1 for author, _ in citizens if author == author_id)
        rows = conn.execute(
            "select message_text, message_url from intermediate.int_messages_unioned"
            " where platform = 'vk' and author_id = %s",
            [author_id],
        ).fetchall()
        incidents = conn.execute(
            "select count(*) from casework.fct_incidents as i"
            " join intermediate.int_messages_unioned as m using (source_message_key)"
            " where m.platform = 'vk' and m.author_id = %s",
            [author_id],
        ).fetchone()[0]
    texts = {" ".join(text.split()) for text, _ in rows if text and len(text.strip()) >= 20}
    urls = {url for _, url in rows}
    assert messages >= 1 and texts and incidents >= 1
    reports_before = [p for p in out.rglob("*.csv") if any(url in p.read_text("utf-8-sig") for url in urls)]
    assert reports_before  # the person is in the exported lists before

    result = subprocess.run(
        [str(Path(sys.executable).with_name("socmon")), "forget", "--platform", "vk",
         "--author-id", author_id, "--reference", "обращение № 42 от 01.12.2026", "--by", "officer.test"],
        capture_output=True, text=True, env=os.environ,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr

    dump = pg_dump()
    flat = " ".join(dump.split())
    assert [text for text in texts if text in flat] == []
    assert [url for url in urls if re.search(re.escape(url) + r"(?![\w?/=&])", dump)] == []
    assert re.search(rf'"from_id": {author_id}\b', dump) is None
    assert re.search(rf"(^|\t){author_id}(\t|$)", dump, re.MULTILINE) is None
    assert [
        p for p in out.rglob("*") if p.is_file() and any(url.encode() in p.read_bytes() for url in urls)
    ] == []
    with warehouse.connect("admin") as conn:
        audit = conn.execute(
            "select requested_by, reference, platform, erased, erased_pseudonym, rows_removed, files_removed,"
            " finished_at is not null from ops.erasure_requests order by request_id desc limit 1"
        ).fetchone()
    by, reference, platform, erased, pseudonym, removed, files, finished = audit
    assert (by, reference, platform, erased, finished) == (
        "officer.test",
        "обращение № 42 от 01.12.2026",
        "vk",
        "author",
        True,
    )
    assert author_id not in pseudonym and author_id not in json.dumps(removed)
    assert removed.get("casework.fct_incidents") == incidents
    assert sum(count for table, count in removed.items() if table.startswith("raw.")) >= messages
    assert files >= len(reports_before)


def pg_dump() -> str:
    from socmon.warehouse.server import password, pg_bindir

    s = settings()
    result = subprocess.run(
        [str(pg_bindir() / "pg_dump"), "--host", s.pg_host, "--port", str(s.pg_port),
         "--username", server.OWNER, "--no-password", s.database],
        capture_output=True, text=True, env={**os.environ, "PGPASSWORD": password(server.OWNER)},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_retention_deletes_old_payloads_and_keeps_the_incidents_facts(pipeline, warehouse):
    with warehouse.connect("bi") as bi:
        facts_before = bi.execute(
            "select count(*), count(distinct category_code) from marts.fct_incidents"
        ).fetchone()
    dags_test(
        "socmon_retention",
        PUBLISH_AT + timedelta(days=7),  # a week after the data was loaded: all of it is older than 6 days
        airflow_environment(warehouse_roles=["admin"]),  # raw and the marts: the owner's job
        conf={"retention_days": 6},
        log_file=pipeline["logs"] / "retention.log",
    )
    with warehouse.connect("admin") as conn:
        raw = conn.execute(
            "select (select count(*) from raw.vk_posts) + (select count(*) from raw.vk_comments)"
            " + (select count(*) from raw.ok_topics) + (select count(*) from raw.ok_comments)"
            " + (select count(*) from raw.telegram_messages)"
        ).fetchone()[0]
        texts = conn.execute(
            "select count(message_text) + count(message_url) from casework.fct_incidents"
        ).fetchone()[0]
    with warehouse.connect("bi") as bi:
        facts_after = bi.execute(
            "select count(*), count(distinct category_code) from marts.fct_incidents"
        ).fetchone()
    assert facts_before[0] > 100
    assert (raw, texts) == (0, 0)
    assert facts_after == facts_before


def test_the_pipeline_ran_with_no_superuser(pipeline, warehouse):
    """Every relation the DAGs made or wrote belongs to one of the pipeline's roles, none a superuser."""
    with warehouse.connect("admin") as conn:
        owners = dict(
            conn.execute(
                """
                select distinct roles.rolname, roles.rolsuper
                from pg_class as relations
                join pg_namespace as schemas on schemas.oid = relations.relnamespace
                join pg_roles as roles on roles.oid = relations.relowner
                where schemas.nspname
                    in ('raw', 'staging', 'intermediate', 'marts', 'casework', 'snapshots', 'ops')
                """
            ).fetchall()
        )
        runs = conn.execute("select count(*) from ops.transform_runs where success").fetchone()[0]
        superusers = conn.execute(
            "select rolname from pg_roles where rolsuper and rolname = any(%s)", [list(server.ROLES.values())]
        ).fetchall()
    assert runs > 0
    assert owners.keys() >= {server.OWNER, "socmon_loader", "socmon_transform"}
    assert [role for role, superuser in owners.items() if superuser] == []
    assert superusers == []
