"""Hourly incremental cost of the incident engine: one hour of N new messages on top of a history of H
messages, versus the same hour on top of F·H, in the same run (the same machine noise hits both).

1. A scratch database (`socmon_bench_incremental`, dropped and re-created) gets R synthetic VK posts
   in raw (`--real`), written by SQL (`insert ... select generate_series`): texts of the labelled
   development set, spread over past days, by recurring authors, on the monitored communities' walls.
   A first `dbt build` of the engine absorbs them: a real history, classified, evaluated, snapshotted.
2. That history is multiplied to H rows in SQL (`multiply`): every table the engine keeps across runs
   (raw.vk_posts, the incremental models, the status snapshot) gets copies of its rows, each copy moved
   back in time by the history's span and given keys of its own (message keys with another post id,
   hashed ids re-hashed), indexes dropped meanwhile and rebuilt as they were. The tables then hold H
   messages with the real history's distributions, older ones behind. One untimed incremental run
   settles what the copies leave due (open incidents whose deadline, moved back, has passed: the
   runs of those past days would have evaluated them).
3. N posts published in the last hour are added, and the engine's models and snapshot are run
   incrementally: that run is timed (T1).
4. Everything is multiplied again by F (about F·H messages), settled, and another hour of N posts is
   timed (T10).
5. Prints T1, T10, their ratio (the target is at most 1.5: the cost grows with the new data, not with
   the history), the slowest models of each run, the tables' sizes, and the classification throughput.

    nice -n 10 .venv/bin/python bench/incremental_cost.py                     # 5,000 new on 50k vs 500k
    nice -n 10 .venv/bin/python bench/incremental_cost.py --new 50000 --history 1000000 --factor 10

Classifying the whole history through the engine (about 1,500 messages/s on 2 cores) would take
hours at 10 million; multiplying a real history of `--real` messages (default 100,000, at most H)
takes minutes. Check `df -h` first: 10 million messages take some 40 GB across the tables and their
indexes. The database is dropped at the end unless `--keep`.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

os.environ.setdefault("SOCMON_PG_DATABASE", "socmon_bench_incremental")

from socmon.config import settings
from socmon.transform import dbt_environment
from socmon.warehouse import roles, server
from socmon.warehouse.credentials import bootstrap_connection

ENGINE = [
    "+fct_messages_classified", "+fct_incidents", "+fct_incident_answers", "+fct_incident_messages",
    "+mart_body_rating_monthly", "+mart_incident_spikes", "snap_incident_status",
]  # fmt: skip
COMPLIANCE = ["path:models/marts/compliance", "path:models/intermediate/compliance", "snap_account_metadata"]
WALLS = [-100001, -100002, -100003, -100004, -100005, -100006, -100007, -100008]
AUTHORS = 40_000  # citizens who write again and again
MESSAGES_PER_HOUR_OF_HISTORY = 2_000  # the history is spread back in time at this rate

HISTORY_SQL = """
insert into raw.vk_posts (owner_id, post_id, payload, payload_hash, source_id, load_id, loaded_at)
select
    walls.owner_id,
    g,
    jsonb_build_object(
        'id', g, 'owner_id', walls.owner_id, 'from_id', 1000000 + (g * 7919) %% %(authors)s,
        'date', extract(epoch from published_at)::bigint, 'post_type', 'post', 'marked_as_ads', 0,
        'text', texts.text || case when g %% 3 = 0 then ' #' || g else '' end,
        'comments', jsonb_build_object('count', g %% 7), 'views', jsonb_build_object('count', g %% 5000)
    ),
    md5('bench' || g),
    'vk:' || walls.owner_id,
    %(load_id)s,
    case when %(loaded_now)s then clock_timestamp() else published_at + interval '7 minutes' end
from generate_series(%(first)s::bigint, %(last)s::bigint) as g
cross join lateral (
    select %(newest)s::timestamptz - (%(last)s - g) * %(spacing)s * interval '1 second' as published_at
) as moments
cross join lateral (select (%(walls)s::bigint[])[1 + g %% %(wall_count)s] as owner_id) as walls
cross join lateral (select (%(texts)s::text[])[1 + (g * 31) %% %(text_count)s] as text) as texts
"""


def labelled_texts() -> list[str]:
    path = settings().project_dir / "tests" / "data" / "incident_dev_set.jsonl"
    with path.open(encoding="utf-8") as f:
        return [json.loads(line)["text"] for line in f if line.strip()]


def fresh_database() -> None:
    server.up()
    with server.connect("admin", autocommit=True) as conn:
        conn.execute("select 1")
    with bootstrap_connection("postgres") as conn:  # the superuser: it ends the sessions of every role
        conn.execute(f'drop database if exists "{settings().database}" with (force)')
    roles.ensure_database(server.credentials())


def server_settings() -> str:
    """The running server's settings that the figures depend on (socmon db up's PG_SERVER_SETTINGS: a
    server started before them runs on Postgres' defaults until it is restarted)."""
    with bootstrap_connection("postgres") as conn:
        return ", ".join(
            f"{name} {conn.execute(f'show {name}').fetchone()[0]}" for name in settings().pg_server_settings
        )


def _owner(dbname: str):
    import psycopg

    creds = server.credentials()
    s = settings()
    return psycopg.connect(
        host=s.pg_host,
        port=s.pg_port,
        dbname=dbname,
        user=server.OWNER,
        password=creds[server.OWNER],
        autocommit=True,
    )


def add_posts(
    first: int, count: int, newest: datetime, load_id: str, texts: list[str], *, hour: bool = False
) -> float:
    """Insert posts first..first+count-1, the last published at `newest`; returns seconds taken.

    History is spread back at MESSAGES_PER_HOUR_OF_HISTORY, loaded 7 minutes after publication (so it
    lies behind the models' watermarks). An `hour` is spread over the hour before `newest` and loaded now,
    as the loader stamps rows.
    """
    started = time.monotonic()
    spacing = 3600 / count if hour else 3600 / MESSAGES_PER_HOUR_OF_HISTORY
    with _owner(settings().database) as conn:
        conn.execute(
            HISTORY_SQL,
            {
                "first": first, "last": first + count - 1, "newest": newest, "spacing": spacing,
                "walls": WALLS, "wall_count": len(WALLS), "texts": texts, "text_count": len(texts),
                "authors": AUTHORS, "load_id": load_id, "loaded_now": hour,
            },
        )  # fmt: skip
        conn.execute("analyze raw.vk_posts")
    return time.monotonic() - started


def dbt(args: list[str], target: Path) -> dict[str, float]:
    """Run dbt on the bench database; returns seconds per node, and 'total'."""
    from dbt.cli.main import dbtRunner

    os.environ.update(dbt_environment())
    project = settings().dbt_project_dir
    started = time.monotonic()
    result = dbtRunner().invoke(
        [*args, "--project-dir", str(project), "--profiles-dir", str(project), "--target-path", str(target),
         "--quiet", "--exclude", *COMPLIANCE]
    )  # fmt: skip
    total = time.monotonic() - started
    if not result.success:
        raise RuntimeError(f"dbt {' '.join(args)} failed: {result.exception or 'see the dbt log'}")
    run_results = json.loads((target / "run_results.json").read_text())
    timings = {r["unique_id"].split(".")[-1]: float(r["execution_time"]) for r in run_results["results"]}
    return {**timings, "total": total}


def hourly_run(target: Path) -> dict[str, float]:
    return dbt(
        ["build", "--select", *ENGINE, "--resource-type", "model", "--resource-type", "snapshot"], target
    )


# ---- multiplying a real history ----

KEPT_TABLES = (  # what the engine keeps across runs: raw, its incremental models, the status snapshot
    "vk_posts", "int_messages_unioned", "int_message_tokens", "int_message_municipalities",
    "int_message_report_scores", "int_message_category_scores", "int_message_lexicon_hits",
    "int_messages_classified",
    "int_incident_messages", "int_answers_matched", "int_incidents_evaluated", "fct_messages_classified",
    "fct_incidents", "fct_incident_messages", "fct_incident_answers", "mart_incident_spikes",
    "mart_body_rating_monthly", "snap_incident_status",
)  # fmt: skip
MESSAGE_KEYS = {  # columns holding message keys: a copy's keys name another post (post id + copy · 10^10)
    "source_message_key", "thread_root_key", "parent_message_key", "reply_thread_key",
    "incident_message_key", "answer_message_key", "answered_message_key", "duplicate_of_message_key",
}  # fmt: skip
MESSAGE_KEY_ARRAYS = {"source_message_keys"}
HASHED_IDS = {  # ids hashed from a key that no model reads back: re-hashed with the copy's number
    "bi_incident_id", "bi_message_id", "bi_duplicate_of_message_id", "dbt_scd_id",
}  # fmt: skip
POST_ID_STEP = 10_000_000_000

COPY_KEY_SQL = """
create or replace function pg_temp.copy_key(message_key text, n bigint) returns text
language sql immutable as $$
    select case
        when message_key ~ '^vk:wall-?[0-9]+_[0-9]+$' then
            regexp_replace(message_key, '_[0-9]+$', '_')
            || ((regexp_match(message_key, '_([0-9]+)$'))[1]::bigint + n * 10000000000)
        else message_key || '~' || n
    end
$$
"""


def copied(column: str, udt: str, table: str) -> str:
    """The expression of `column` in copy number `n` of a row `t`, n spans earlier; ids the models
    compute from other columns are computed the same way from the copied ones."""
    if table == "vk_posts" and column == "post_id":
        return f"t.post_id + copy_number * {POST_ID_STEP}"
    if table == "vk_posts" and column == "payload":
        return f"jsonb_set(t.payload, '{{id}}', to_jsonb(t.post_id + copy_number * {POST_ID_STEP}))"
    if column == "incident_id":  # md5 of the incident's first message's key, in every table
        return (
            "coalesce(md5(pg_temp.copy_key(incidents.incident_key, copy_number)),"
            " md5(t.incident_id || '~' || copy_number))"
        )
    if column == "spike_id":  # mart_incident_spikes
        return "md5(t.category_code || '|' || t.municipality_code || '|' || (t.started_at - n * span))"
    if column == "rating_key":  # mart_body_rating_monthly
        return (
            f"md5({copied('rating_month', 'date', table)} || '|' || t.responsible_body_code"
            " || '|' || coalesce(t.municipality_code, '*'))"
        )
    if column in MESSAGE_KEYS:
        return f"pg_temp.copy_key(t.{column}, copy_number)"
    if column in MESSAGE_KEY_ARRAYS:
        return f"array(select pg_temp.copy_key(k, copy_number) from unnest(t.{column}) as k)"
    if column in HASHED_IDS:
        return f"md5(t.{column} || '~' || copy_number)"
    if udt in ("timestamptz", "timestamp"):
        return f"t.{column} - n * span"
    if udt == "date":  # the rating's months: whole months back, as many as the span covers
        return f"(t.{column} - n * span_months * interval '1 month')::date"
    return f"t.{column}"


INCIDENT_KEYS_SQL = """
create temp table incident_keys as
select distinct md5(incident_message_key) as incident_id, incident_message_key as incident_key
from intermediate.int_incident_messages
"""


def multiply(factor: int, stride: int = 1) -> dict[str, int]:
    """Every kept table holds `factor` times its rows: copies 1..factor-1 of each row, each a span (the
    history's, from its oldest timestamp to now, in whole days) earlier than the one before. Copy n is
    numbered n·stride in its keys and hashes: `stride`, the factor of an earlier multiplication, keeps
    them apart from that one's copies. Returns the row count of each table after."""
    with server.connect("transform") as conn:
        oldest = conn.execute(
            "select least((select min(loaded_at) from raw.vk_posts),"
            " (select min(published_at) from intermediate.int_messages_unioned))"
        ).fetchone()[0]
        days = int(
            conn.execute("select ceil(extract(epoch from now() - %s) / 86400) + 1", [oldest]).fetchone()[0]
        )
    sizes = {}
    for role, schemas in (
        ("loader", ["raw"]),
        ("transform", ["intermediate", "casework", "marts", "snapshots"]),
    ):
        sizes |= _multiply_as(role, schemas, factor, stride, days)
    return sizes


def _multiply_as(role: str, schemas: list[str], factor: int, stride: int, days: int) -> dict[str, int]:
    sizes = {}
    with server.connect(role, autocommit=True) as conn:
        conn.execute("set maintenance_work_mem = '512MB'")
        conn.execute("set max_parallel_maintenance_workers = 0")
        conn.execute(COPY_KEY_SQL)
        if role == "transform":
            conn.execute(INCIDENT_KEYS_SQL)
            conn.execute("analyze incident_keys")
        span = f"interval '{days} days'"
        tables = conn.execute(
            "select table_schema, table_name from information_schema.tables"
            " where table_type = 'BASE TABLE' and table_name = any(%s)"
            " and table_schema = any(%s)",
            [list(KEPT_TABLES), schemas],
        ).fetchall()
        for schema, table in tables:
            relation = f"{schema}.{table}"
            started = time.monotonic()
            columns = conn.execute(
                "select column_name, udt_name from information_schema.columns"
                " where table_schema = %s and table_name = %s order by ordinal_position",
                [schema, table],
            ).fetchall()
            indexes = conn.execute(
                "select indexrelid::regclass::text, pg_get_indexdef(indexrelid), constraints.conname,"
                " pg_get_constraintdef(constraints.oid)"
                " from pg_index left join pg_constraint as constraints on constraints.conindid = indexrelid"
                " where indrelid = %s::regclass",
                [relation],
            ).fetchall()
            for name, _, constraint, _ in indexes:
                if constraint:
                    conn.execute(f"alter table {relation} drop constraint {constraint}")
                else:
                    conn.execute(f"drop index {name}")
            span_months = 1  # dates (the rating's months) go back whole months: as many as the table spans
            for name, udt in columns:
                if udt == "date":
                    span_months = conn.execute(
                        f"select coalesce((extract(year from age(max({name}), min({name}))) * 12"
                        f" + extract(month from age(max({name}), min({name}))))::int + 1, 1) from {relation}"
                    ).fetchone()[0]
            names = ", ".join(name for name, _ in columns)
            expressions = ", ".join(copied(name, udt, table) for name, udt in columns)
            incidents = (
                " left join incident_keys as incidents on incidents.incident_id = t.incident_id"
                if "incident_id" in {name for name, _ in columns}
                else ""
            )
            conn.execute(
                f"insert into {relation} ({names})"
                f" select {expressions}"
                f" from {relation} as t{incidents}"
                f" cross join generate_series(1, %s - 1) as copies(n)"
                f" cross join lateral (select {span} as span, {span_months} as span_months,"
                f" n * %s as copy_number) as shift",
                [factor, stride],
            )
            for _, definition, constraint, constraint_definition in indexes:
                if constraint:
                    conn.execute(
                        f"alter table {relation} add constraint {constraint} {constraint_definition}"
                    )
                else:
                    conn.execute(definition)
            conn.execute(f"analyze {relation}")
            sizes[table] = conn.execute(f"select count(*) from {relation}").fetchone()[0]
            print(f"    {relation}: {sizes[table]:,} rows ({time.monotonic() - started:.0f}s)", flush=True)
    return sizes


def slowest(timings: dict[str, float], count: int = 6) -> str:
    nodes = sorted(((t, n) for n, t in timings.items() if n != "total"), reverse=True)[:count]
    return ", ".join(f"{name} {seconds:.2f}s" for seconds, name in nodes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--new", type=int, default=5_000, help="messages in the new hour (default 5,000)")
    parser.add_argument("--history", type=int, default=50_000, help="the smaller history H (default 50,000)")
    parser.add_argument("--factor", type=int, default=10, help="the larger history is factor·H (default 10)")
    parser.add_argument("--real", type=int, default=100_000, help="history built by the engine (≤ H)")
    parser.add_argument("--keep", action="store_true", help="keep the database (else dropped at the end)")
    args = parser.parse_args()

    texts = labelled_texts()
    now = datetime.now(UTC).replace(microsecond=0)
    small, new = args.history, args.new
    real = min(args.real, small)
    if small % real:
        parser.error(f"--history ({small:,}) must be a multiple of --real ({real:,})")
    print(
        f"database {settings().database}: {new:,} new messages on {small:,} vs {small * args.factor:,} of"
        f" history ({real:,} built by the engine, multiplied)",
        flush=True,
    )
    fresh_database()
    print(f"  server: {server_settings()}", flush=True)
    runs = {}
    try:
        with tempfile.TemporaryDirectory(prefix="socmon-bench-") as folder:
            target = Path(folder)
            # a real history, absorbed by a first full build (seeds, every model)
            seconds = add_posts(1, real, now - timedelta(hours=2), "history-1", texts)
            print(f"  {real:,} history rows written in {seconds:.1f}s", flush=True)
            first = dbt(
                ["build", "--select", *ENGINE, "--exclude-resource-type", "test", "unit_test"], target
            )
            classify = first.get("int_messages_classified", 0.0)
            print(
                f"  first build {first['total']:.1f}s; classification {real / classify:,.0f} messages/s",
                flush=True,
            )
            next_post = real + 1
            stride = 1
            for stage, factor in ((1, small // real), (2, args.factor)):
                started = time.monotonic()
                print(f"  multiplying the history by {factor}:", flush=True)
                sizes = multiply(factor, stride)
                stride *= factor
                print(f"  multiplied in {time.monotonic() - started:.0f}s", flush=True)
                settle = hourly_run(target)
                print(f"  settling run (untimed) {settle['total']:.1f}s ({slowest(settle)})", flush=True)
                add_posts(next_post, new, now - timedelta(hours=2 - stage), f"hour-{stage}", texts, hour=True)
                next_post += new
                hour = hourly_run(target)
                history = sizes["int_messages_classified"]
                runs[stage] = (history, hour)
                Path(tempfile.gettempdir(), f"socmon-incremental-hour-{stage}.json").write_text(
                    json.dumps({"history": history, "settle": settle, "hour": hour}, indent=1)
                )
                print(f"  hour on {history:,}: {hour['total']:.2f}s ({slowest(hour)})", flush=True)
    finally:
        if not args.keep:
            with bootstrap_connection("postgres") as conn:
                conn.execute(f'drop database if exists "{settings().database}" with (force)')

    (history_small, hour_small), (history_large, hour_large) = runs[1], runs[2]
    ratio = hour_large["total"] / hour_small["total"]
    print(f"\n{'node':<40} {'on ' + format(history_small, ','):>14} {'on ' + format(history_large, ','):>14}")
    nodes = sorted(set(hour_small) | set(hour_large) - {"total"}, key=lambda n: -hour_large.get(n, 0.0))
    for node in [n for n in nodes if n != "total"]:
        print(f"{node:<40} {hour_small.get(node, 0.0):>13.2f}s {hour_large.get(node, 0.0):>13.2f}s")
    classified = hour_large.get("int_messages_classified", 0.0)
    print(
        f"\nhourly run: {hour_small['total']:.2f}s on {history_small:,} history, "
        f"{hour_large['total']:.2f}s on {history_large:,}: "
        f"ratio {ratio:.2f} (target <= 1.5)\n"
        f"classification throughput: {new / classified:,.0f} new messages/s in the hourly run "
        f"(int_messages_classified {classified:.2f}s); {real / classify:,.0f} messages/s in the first build"
    )


if __name__ == "__main__":
    main()
