"""Extraction on the Celery stack with one and with two workers, in the same run.

    SOCMON_PG_PORT=... .venv/bin/python bench/stack_workers.py [--rounds 1]

Starts `make stack`'s topology from an empty metadata database (refuses if a stack is already up), on
a warehouse database of its own (`socmon_bench_stack`, recreated before every measured run, so that
no run finds the cursors of another), with only `socmon_extract` unpaused. Each measured run is
`socmon_extract` triggered through the REST API for the sandbox's whole days; its time is the run's
start to end as Airflow records it. The order is two workers, one worker, two workers (repeated
`--rounds` times), so a warm-up or a drift of the shared machine shows as a difference between the
two-worker runs. Prints each run and the ratio of one worker to two.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta

import psycopg
from psycopg import sql

from socmon.config import using_database
from socmon.timezone import MOSCOW
from socmon.warehouse import roles, server
from socmon_sandbox import stack

DATABASE = "socmon_bench_stack"


def recreate_database() -> None:
    params = {**server.connection_params("admin"), "dbname": "postgres"}
    with psycopg.connect(**params, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(DATABASE)))
    with using_database(DATABASE):
        roles.ensure_database(server.credentials())


def wait(what: str, condition, timeout: float = 300, every: float = 1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise SystemExit(f"{what}: not after {timeout:.0f}s (logs: {stack.paths().logs})")


def worker_ready(name: str, times_before: int) -> bool:
    log = stack.paths().logs / f"{name}.log"
    return log.exists() and log.read_text(errors="replace").count(" ready.") > times_before


def set_workers(count: int) -> None:
    if count == 1:
        stack.stop("worker-2")
        return
    if stack.pid_of("worker-2") is None:
        log = stack.paths().logs / "worker-2.log"
        before = log.read_text(errors="replace").count(" ready.") if log.exists() else 0
        stack.start_worker("worker-2")
        wait("worker-2 ready", lambda: worker_ready("worker-2", before), 120)
        time.sleep(3)  # let it join the cluster (mingle, gossip)


def seconds(run: dict) -> float:
    def parse(value: str) -> datetime:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))

    return (parse(run["end_date"]) - parse(run["start_date"])).total_seconds()


def measure(api: stack.Api, window: dict) -> tuple[float, dict[str, int]]:
    recreate_database()
    run_id = api.trigger("socmon_extract", conf=window)

    def finished():
        run = api.run("socmon_extract", run_id)
        return run if run["state"] in ("success", "failed") else None

    run = wait("socmon_extract finished", finished, 600)
    if run["state"] != "success":
        raise SystemExit(f"socmon_extract {run_id} failed; logs in {stack.paths().logs}")
    hosts: dict[str, int] = {}
    for ti in api.task_instances("socmon_extract", run_id):
        hosts[ti["hostname"]] = hosts.get(ti["hostname"], 0) + 1
    return seconds(run), hosts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    if any(stack.pid_of(name) for name in (*stack.WORKERS, "scheduler", "api-server")):
        raise SystemExit("a stack is already running: `make stack-down` first")

    server.up()
    recreate_database()
    env = {**os.environ, "SOCMON_PG_DATABASE": DATABASE}
    command = [sys.executable, "-m", "socmon_sandbox.stack"]
    subprocess.run([*command, "up", "--fresh"], env=env, check=True)
    results: list[tuple[str, float, dict[str, int]]] = []
    try:
        os.environ["SOCMON_PG_DATABASE"] = DATABASE
        api = stack.Api.login()
        wait("the DAGs parsed", lambda: "socmon_extract" in api.dag_ids(), 180)
        today = datetime.now(MOSCOW).replace(hour=0, minute=0, second=0, microsecond=0)
        window = {
            "window_start": (today - timedelta(days=stack.SANDBOX_DAYS)).isoformat(),
            "window_end": today.isoformat(),
        }
        api.unpause("socmon_extract")
        # unpausing schedules the latest hour at once: let that run pass before measuring
        wait(
            "the scheduled run",
            lambda: all(run["state"] in ("success", "failed") for run in api.runs("socmon_extract")),
            300,
        )
        for _ in range(args.rounds):
            for count in (2, 1, 2):
                set_workers(count)
                took, hosts = measure(api, window)
                label = f"{count} worker{'s' if count > 1 else ''}"
                results.append((label, took, hosts))
                print(f"{label:<10} socmon_extract {took:6.1f} s  tasks per worker {hosts}", flush=True)
    finally:
        subprocess.run([*command, "down"], env=env, check=False)

    two = [took for label, took, _ in results if label.startswith("2")]
    one = [took for label, took, _ in results if label.startswith("1")]
    print(f"\nsandbox: {stack.SANDBOX_DAYS} days; each worker's concurrency: 2")
    print("two workers: " + ", ".join(f"{t:.1f} s" for t in two))
    print("one worker:  " + ", ".join(f"{t:.1f} s" for t in one))
    print(f"one worker / two workers (mean): {sum(one) / len(one) / (sum(two) / len(two)):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
