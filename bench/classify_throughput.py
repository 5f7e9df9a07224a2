"""Classification throughput of a full build, against `to_tsvector('russian', …)` over the same texts in
the same run.

1. A scratch database (`socmon_bench_classify`, dropped and re-created) gets N synthetic VK posts in raw,
   written by SQL: texts of the labelled development set, varied (two texts joined, a number or a street
   appended, so that the vocabulary grows with N as a real flow's does), by 40,000 recurring authors on
   the monitored communities' walls. `dbt build` of the seeds and `int_messages_unioned` reads them
   (untimed).
2. The classification models (`int_messages_unioned+` up to `int_messages_classified`) are built from
   scratch (`--full-refresh`): timed from the first model's start to the last one's end, as dbt runs them
   on the profile's threads (independent models side by side); the sum of the models' own times is
   printed too (the figure before 2026-12-06, which credits no concurrency).
3. The baseline: `create table … as select source_message_key, to_tsvector('russian', message_text)` over
   the same unioned messages: timed.
4. Prints both in messages/s and their ratio (targets: ≥ 20,000 messages/s, ratio ≥ 0.2).

    nice -n 10 .venv/bin/python bench/classify_throughput.py                      # 1,000,000 messages
    nice -n 10 .venv/bin/python bench/classify_throughput.py --messages 100000 --keep

--keep re-uses the raw messages and int_messages_unioned of a previous run, when there is one (seeds are
always re-loaded).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("SOCMON_PG_DATABASE", "socmon_bench_classify")

from socmon.config import settings
from socmon.transform import dbt_environment
from socmon.warehouse import roles, server

# the models between int_messages_unioned and int_messages_classified, and the lexicons from the seeds
CLASSIFICATION = [
    "int_messages_unioned+,+int_messages_classified", "int_lexicon_terms",
    "--exclude", "int_messages_unioned",
]  # fmt: skip
WALLS = [-100001, -100002, -100003, -100004, -100005, -100006, -100007, -100008]
AUTHORS = 40_000
STREETS = ["Красная", "Северная", "Ленина", "Мира", "Садовая", "Школьная", "Гагарина", "Советская"]

POSTS_SQL = """
insert into raw.vk_posts (owner_id, post_id, payload, payload_hash, source_id, load_id, loaded_at)
select
    walls.owner_id,
    g,
    jsonb_build_object(
        'id', g, 'owner_id', walls.owner_id, 'from_id', 1000000 + (g * 7919) %% %(authors)s,
        'date', extract(epoch from published_at)::bigint, 'post_type', 'post', 'marked_as_ads', 0,
        'text', texts.text,
        'comments', jsonb_build_object('count', g %% 7), 'views', jsonb_build_object('count', g %% 5000)
    ),
    md5('bench' || g),
    'vk:' || walls.owner_id,
    'bench',
    published_at + interval '7 minutes'
from generate_series(1, %(count)s::bigint) as g
cross join lateral (
    select %(newest)s::timestamptz - (%(count)s - g) * interval '2 seconds' as published_at
) as moments
cross join lateral (select (%(walls)s::bigint[])[1 + g %% 8] as owner_id) as walls
cross join lateral (
    select
        (%(texts)s::text[])[1 + (g * 31) %% %(text_count)s]
        || case g %% 4
            when 0 then ' ' || (%(texts)s::text[])[1 + (g * 17) %% %(text_count)s]
            when 1 then ' ул. ' || (%(streets)s::text[])[1 + g %% 8] || ', ' || (g %% 200)
            when 2 then ' #' || g
            else ''
        end as text
) as texts
"""


def labelled_texts() -> list[str]:
    path = settings().project_dir / "tests" / "data" / "incident_dev_set.jsonl"
    with path.open(encoding="utf-8") as f:
        return [json.loads(line)["text"] for line in f if line.strip()]


def _owner(dbname: str):
    import psycopg

    creds = server.credentials()
    s = settings()
    return psycopg.connect(
        host=s.pg_host, port=s.pg_port, dbname=dbname, user=server.OWNER,
        password=creds[server.OWNER], autocommit=True,
    )  # fmt: skip


def previous_run_kept() -> bool:
    """Whether the bench database holds a previous run's int_messages_unioned."""
    server.up()
    with _owner("postgres") as conn:
        if not conn.execute("select 1 from pg_database where datname = %s", [settings().database]).fetchone():
            return False
    with _owner(settings().database) as conn:
        unioned = conn.execute("select to_regclass('intermediate.int_messages_unioned')").fetchone()[0]
    return unioned is not None


def fresh_database(count: int) -> None:
    server.up()
    with _owner("postgres") as conn:
        conn.execute(f'drop database if exists "{settings().database}" with (force)')
    roles.ensure_database(server.credentials())
    texts = labelled_texts()
    started = time.monotonic()
    with _owner(settings().database) as conn:
        conn.execute(
            POSTS_SQL,
            {
                "count": count, "newest": datetime.now(UTC), "walls": WALLS, "authors": AUTHORS,
                "texts": texts, "text_count": len(texts), "streets": STREETS,
            },
        )  # fmt: skip
        conn.execute("analyze raw.vk_posts")
    print(f"  {count:,} posts written to raw in {time.monotonic() - started:.1f}s", flush=True)


def dbt(args: list[str], target: Path) -> dict[str, float]:
    """Run dbt on the bench database; returns seconds per node, 'total' (with dbt's own start and parse),
    and 'span': from the first node's start to the last one's end (the build, with its two threads)."""
    from dbt.cli.main import dbtRunner

    os.environ.update(dbt_environment())
    project = settings().dbt_project_dir
    started = time.monotonic()
    result = dbtRunner().invoke(
        [*args, "--project-dir", str(project), "--profiles-dir", str(project), "--target-path", str(target),
         "--quiet"]
    )  # fmt: skip
    total = time.monotonic() - started
    if not result.success:
        raise RuntimeError(f"dbt {' '.join(args)} failed: {result.exception or 'see the dbt log'}")
    run_results = json.loads((target / "run_results.json").read_text())
    timings = {r["unique_id"].split(".")[-1]: float(r["execution_time"]) for r in run_results["results"]}
    moments = [
        datetime.fromisoformat(step[edge].replace("Z", "+00:00"))
        for r in run_results["results"] for step in r["timing"] for edge in ("started_at", "completed_at")
    ]  # fmt: skip
    span = (max(moments) - min(moments)).total_seconds() if moments else total
    return {**timings, "total": total, "span": span}


def to_tsvector_seconds() -> float:
    with _owner(settings().database) as conn:
        conn.execute("drop table if exists public.bench_tsvector")
        started = time.monotonic()
        conn.execute(
            "create table public.bench_tsvector as "
            "select source_message_key, to_tsvector('russian', message_text) as document "
            "from intermediate.int_messages_unioned"
        )
        seconds = time.monotonic() - started
        conn.execute("drop table public.bench_tsvector")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1_000_000, help="messages (default 1,000,000)")
    parser.add_argument("--keep", action="store_true", help="re-use a previous run's database, if any")
    args = parser.parse_args()

    print(f"database {settings().database}: {args.messages:,} messages", flush=True)
    with tempfile.TemporaryDirectory(prefix="socmon-bench-") as folder:
        target = Path(folder)
        if not (args.keep and previous_run_kept()):
            fresh_database(args.messages)
            dbt(["seed"], target)
            unioned = dbt(["run", "--select", "+int_messages_unioned", "--full-refresh"], target)
            print(f"  staging and int_messages_unioned built in {unioned['total']:.1f}s", flush=True)
        dbt(["seed"], target)
        with _owner(settings().database) as conn:
            messages = conn.execute("select count(*) from intermediate.int_messages_unioned").fetchone()[0]
        baseline_before = to_tsvector_seconds()
        build = dbt(["run", "--select", *CLASSIFICATION, "--full-refresh"], target)
        baseline_after = to_tsvector_seconds()

    node_seconds = sum(t for name, t in build.items() if name not in ("total", "span"))
    classify_seconds = build["span"]
    baseline = (baseline_before + baseline_after) / 2
    nodes = sorted(((n, t) for n, t in build.items() if n not in ("total", "span")), key=lambda i: -i[1])
    models = ", ".join(f"{name} {t:.1f}s" for name, t in nodes)
    classify_rate, baseline_rate = messages / classify_seconds, messages / baseline
    print(
        f"  classification models: {models}; their sum {node_seconds:.1f}s "
        f"({messages / node_seconds:,.0f} messages/s), the build {classify_seconds:.1f}s "
        f"(dbt with its start and parse {build['total']:.1f}s)\n"
        f"  to_tsvector('russian'): {baseline_before:.1f}s before, {baseline_after:.1f}s after\n\n"
        f"classification:          {classify_rate:>9,.0f} messages/s "
        f"({messages:,} in {classify_seconds:.1f}s: the build, dbt's threads)  (target >= 20,000)\n"
        f"to_tsvector('russian'):  {baseline_rate:>9,.0f} messages/s ({messages:,} in {baseline:.1f}s)\n"
        f"ratio classification / to_tsvector: {classify_rate / baseline_rate:.2f} (target >= 0.2)"
    )


if __name__ == "__main__":
    main()
