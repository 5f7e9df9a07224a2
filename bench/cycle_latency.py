"""Publication → incident row on the sandbox, with a clock the benchmark controls, and what a cycle costs.

The sandbox (VK, OK and Telegram emulators) serves a generated day. The clock is the benchmark's: cycle k
is due at t_k = --start + k · --every; its extraction reads the window [t_(k-1), t_k) through the real
`socmon_extract` DAG (`airflow dags test`), then the real `socmon_transform` DAG builds the marts (a
cycle's build: changed seeds only, no daily tests, the unit tests only after a code change). Besides the
sandbox's citizens, each window gets --per-cycle synthetic VK posts (texts of the labelled development set)
published evenly over the window and loaded with the extraction: the krai's peak rate, 25,000 messages in
10 minutes. Each cycle's wall time (extraction + transform) is measured; an incident published at p and
first in the marts after cycle k is there at t_k + that cycle's time, so its delay is t_k + cost_k − p.

The baseline, in the same run: the same incidents with the hourly cycle and the build as it was before
(`dbt build` of everything: every seed reloaded, every data and unit test), timed once on one more window
of the same volume. Its delays are ceil-to-the-hour(p) + extraction + that build − p: a lower bound, since an
hour holds six windows' messages, not one.

    nice -n 10 .venv/bin/python bench/cycle_latency.py [--cycles 3] [--per-cycle 25000] [--every 10]

A scratch database, `socmon_bench_latency`, is dropped and created again. Prints each cycle's messages,
extraction and transform times (the transform's per-cycle cost, dbt start-up included, is the target
≤ 60 s), the p50/p95 delays of both schedules (target p95 ≤ 15 minutes) and their ratio.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

os.environ.setdefault("SOCMON_PG_DATABASE", "socmon_bench_latency")
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="socmon-bench-airflow-"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from incremental_cost import AUTHORS, HISTORY_SQL, WALLS, _owner, fresh_database, labelled_texts

from socmon.config import settings
from socmon.orchestration import airflow_environment, dags_test, ensure_airflow
from socmon.warehouse import server
from socmon_sandbox import running_sandbox

MOSCOW = ZoneInfo("Europe/Moscow")
DAY = date(2026, 11, 25)  # a Wednesday of the sandbox
FILLER_FIRST_ID = 1_000_000_000  # synthetic post ids, far from the sandbox's


def add_filler(first_id: int, count: int, window_end: datetime, texts: list[str]) -> None:
    """`count` synthetic VK posts published evenly before `window_end` over one window, loaded now."""
    if count <= 0:
        return
    spacing = (args.every * 60) / count
    with _owner(settings().database) as conn:
        conn.execute(
            HISTORY_SQL,
            {
                "first": first_id, "last": first_id + count - 1,
                "newest": window_end - timedelta(seconds=spacing), "spacing": spacing,
                "walls": WALLS, "wall_count": len(WALLS), "texts": texts, "text_count": len(texts),
                "authors": AUTHORS, "load_id": f"bench-{first_id}", "loaded_now": True,
            },
        )  # fmt: skip
        conn.execute("analyze raw.vk_posts")


def incidents_seen(seen: set[str]) -> list[tuple[str, datetime]]:
    """Incidents in the marts not seen before, with their publication."""
    with server.connect("admin") as conn:
        rows = conn.execute("select incident_id, published_at from casework.fct_incidents").fetchall()
    new = [(incident, published) for incident, published in rows if incident not in seen]
    seen.update(incident for incident, _ in new)
    return new


def last_build_seconds() -> float:
    with server.connect("admin") as conn:
        row = conn.execute(
            "select extract(epoch from finished_at - started_at) from ops.transform_runs"
            " where success and selector is null order by run_id desc limit 1"
        ).fetchone()
    return float(row[0]) if row else float("nan")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    position = share * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def main() -> int:
    texts = labelled_texts()
    every = timedelta(minutes=args.every)
    start = datetime.combine(DAY, datetime.min.time(), MOSCOW) + timedelta(hours=args.start_hour)
    fresh_database()
    logs = Path(tempfile.mkdtemp(prefix="socmon-bench-latency-"))
    print(
        f"{args.cycles} cycles of {args.every:g} min from {start:%Y-%m-%d %H:%M} MSK on the sandbox,"
        f" {args.per_cycle:,} synthetic posts a cycle besides its citizens; database {settings().database};"
        f" logs {logs}",
        flush=True,
    )
    delays: list[float] = []
    publications: list[datetime] = []
    extract_times: list[float] = []
    seen: set[str] = set()
    next_id = FILLER_FIRST_ID
    with running_sandbox(DAY, 1) as sandbox:
        env = airflow_environment(sandbox.connections)
        ensure_airflow(env)

        def extract(since: datetime, until: datetime, name: str) -> float:
            window = {"window_start": since.isoformat(), "window_end": until.isoformat()}
            began = time.monotonic()
            dags_test("socmon_extract", until, env, conf=window, log_file=logs / f"extract-{name}.log")
            return time.monotonic() - began

        def transform(name: str) -> float:
            began = time.monotonic()
            dags_test("socmon_transform", datetime.now(MOSCOW), env, log_file=logs / f"transform-{name}.log")
            return time.monotonic() - began

        # warm-up, untimed: the day up to the start, the first build (seeds, unit tests)
        extract(datetime.combine(DAY, datetime.min.time(), MOSCOW), start, "warm-up")
        transform("warm-up")
        incidents_seen(seen)
        print(f"  warm-up: {len(seen)} incidents before {start:%H:%M}", flush=True)

        for k in range(1, args.cycles + 1):
            since, until = start + (k - 1) * every, start + k * every
            add_filler(next_id, args.per_cycle, until, texts)
            next_id += args.per_cycle
            extracted = extract(since, until, f"cycle-{k}")
            built = transform(f"cycle-{k}")
            extract_times.append(extracted)
            cost = extracted + built
            new = incidents_seen(seen)
            for _, published in new:
                delays.append((until - published).total_seconds() + cost)
                publications.append(published)
            print(
                f"  cycle {k} ({since:%H:%M}–{until:%H:%M}): extract {extracted:5.1f} s, transform DAG"
                f" {built:5.1f} s (dbt build {last_build_seconds():5.1f} s), {len(new)} new incidents",
                flush=True,
            )
            transform_times.append(built)

        # the baseline build, as before this change: everything, every cycle
        since, until = start + args.cycles * every, start + (args.cycles + 1) * every
        add_filler(next_id, args.per_cycle, until, texts)
        extracted = extract(since, until, "baseline")
        began = time.monotonic()  # in a process of its own, as the DAG's task: dbt's start-up included
        subprocess.run(
            [sys.executable, "-c", "from socmon.transform import run_dbt; run_dbt(['build'])"],
            env=env, check=True, stdout=(logs / "baseline-build.log").open("w"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        old_build = time.monotonic() - began
        print(f"  baseline window: extract {extracted:5.1f} s, the old full `dbt build` {old_build:5.1f} s")

    if not delays:
        print("no incident: nothing to measure")
        return 1
    hourly = [
        (
            (published.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)) - published
        ).total_seconds()
        + statistics.mean(extract_times)
        + old_build
        for published in publications
    ]
    p50, p95 = percentile(delays, 0.5) / 60, percentile(delays, 0.95) / 60
    b50, b95 = percentile(hourly, 0.5) / 60, percentile(hourly, 0.95) / 60
    mean_transform = statistics.mean(transform_times)
    print(
        f"\n{len(delays)} incidents published in {args.cycles} cycles\n"
        f"publication → incident, {args.every:g}-minute cycle: p50 {p50:5.1f} min, p95 {p95:5.1f} min"
        f" (target p95 <= 15)\n"
        f"baseline, hourly with the old build:     p50 {b50:5.1f} min, p95 {b95:5.1f} min\n"
        f"ratio p95 cycle / hourly: {p95 / b95:.2f}; p50: {p50 / b50:.2f}\n"
        f"transform per cycle ({args.per_cycle:,} new + the sandbox's), start-up included: mean"
        f" {mean_transform:.1f} s (target <= 60); the old full build on the same volume: {old_build:.1f} s;"
        f" ratio {mean_transform / old_build:.2f}"
    )
    return 0


transform_times: list[float] = []

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cycles", type=int, default=3, help="timed cycles (default 3)")
    parser.add_argument(
        "--per-cycle", type=int, default=25_000, help="synthetic posts a cycle (default 25,000)"
    )
    parser.add_argument("--every", type=float, default=10, help="minutes between cycles (default 10)")
    parser.add_argument(
        "--start-hour", type=int, default=9, help="the first cycle's hour, Moscow (default 9)"
    )
    args = parser.parse_args()
    raise SystemExit(main())
