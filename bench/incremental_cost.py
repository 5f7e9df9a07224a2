"""Hourly incremental cost of the incident engine: one hour of N new messages on top of a history of H
messages, versus the same hour on top of 10·H, in the same run (the same machine noise hits both).

1. A scratch database (`socmon_bench_incremental`, dropped and re-created) gets H synthetic VK posts
   in raw, written by SQL (`insert ... select generate_series`): texts of the labelled development set,
   spread over past days, by recurring authors, on the monitored communities' walls. A first
   `dbt build` absorbs them.
2. N posts published in the last hour are added, and the engine's models and snapshot are run
   incrementally: that run is timed (T1).
3. 9·H more history rows are added and absorbed (untimed, by a full refresh), then another hour of N
   posts: timed (T10).
4. Prints T1, T10, their ratio (the target is at most 1.5: the cost grows with the new data, not with the
   history), the slowest models of each run, and the classification throughput (new messages per second
   of `int_messages_classified`, and history rows per second of the first build).

    .venv/bin/python bench/incremental_cost.py                                # 5,000 new on 50k vs 500k
    .venv/bin/python bench/incremental_cost.py --history 100000                # on 100k vs 1M
    .venv/bin/python bench/incremental_cost.py --new 50000 --history 1000000   # the issue's size (hours)

It takes about 17 minutes by default on 2 cores, most of it absorbing the larger history (a full build
classifies some 700 messages/s).
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
    with _owner("postgres") as conn:
        conn.execute(f'drop database if exists "{settings().database}" with (force)')
    roles.ensure_database(server.credentials())


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


def slowest(timings: dict[str, float], count: int = 6) -> str:
    nodes = sorted(((t, n) for n, t in timings.items() if n != "total"), reverse=True)[:count]
    return ", ".join(f"{name} {seconds:.2f}s" for seconds, name in nodes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--new", type=int, default=5_000, help="messages in the new hour (default 5,000)")
    parser.add_argument("--history", type=int, default=50_000, help="the smaller history H (default 50,000)")
    parser.add_argument("--factor", type=int, default=10, help="the larger history is factor·H (default 10)")
    args = parser.parse_args()

    texts = labelled_texts()
    now = datetime.now(UTC).replace(microsecond=0)
    small, large, new = args.history, args.history * args.factor, args.new
    print(
        f"database {settings().database}: {new:,} new messages on {small:,} vs {large:,} of history",
        flush=True,
    )
    fresh_database()
    with tempfile.TemporaryDirectory(prefix="socmon-bench-") as folder:
        target = Path(folder)
        # history H, absorbed by a first full build (seeds, every model)
        seconds = add_posts(1, small, now - timedelta(hours=2), "history-1", texts)
        print(f"  {small:,} history rows written in {seconds:.1f}s", flush=True)
        first = dbt(["build", "--select", *ENGINE, "--exclude-resource-type", "test", "unit_test"], target)
        classify = first.get("int_messages_classified", 0.0)
        print(
            f"  first build {first['total']:.1f}s; classification {small / classify:,.0f} messages/s",
            flush=True,
        )

        # one hour on H
        add_posts(small + 1, new, now - timedelta(hours=1), "hour-1", texts, hour=True)
        hour_small = hourly_run(target)
        print(f"  hour on {small:,}: {hour_small['total']:.2f}s ({slowest(hour_small)})", flush=True)

        # grow the history to factor·H (published before the hours already added), absorbed untimed by a
        # full refresh: loaded in the past, these rows are behind the incremental models' watermarks
        seconds = add_posts(small + new + 1, large - small, now - timedelta(hours=3), "history-2", texts)
        print(f"  {large - small:,} more history rows written in {seconds:.1f}s", flush=True)
        dbt(
            ["build", "--select", *ENGINE, "--exclude-resource-type", "test", "unit_test", "--full-refresh"],
            target,
        )

        # one hour on factor·H
        add_posts(large + new + 1, new, now, "hour-2", texts, hour=True)
        hour_large = hourly_run(target)
        print(f"  hour on {large:,}: {hour_large['total']:.2f}s ({slowest(hour_large)})", flush=True)

    ratio = hour_large["total"] / hour_small["total"]
    classified = hour_large.get("int_messages_classified", 0.0)
    print(
        f"\nhourly run: {hour_small['total']:.2f}s on {small:,} history, "
        f"{hour_large['total']:.2f}s on {large:,}: "
        f"ratio {ratio:.2f} (target <= 1.5)\n"
        f"classification throughput: {new / classified:,.0f} new messages/s in the hourly run "
        f"(int_messages_classified {classified:.2f}s); {small / classify:,.0f} messages/s in the first build"
    )


if __name__ == "__main__":
    main()
