"""`socmon transform`: dbt build as the transform role, in-process through dbt's programmatic runner.

One build at a time: every dbt command that writes takes the warehouse's advisory lock first, whoever
runs it (the DAG, the CLI, the demo, the tests); a second one logs who holds it and waits. Each such
run is recorded in `ops.transform_runs` with the latest raw `loaded_at` it saw (its data cut-off), so
the publish gate can tell whether the marts cover the period it reports.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg import sql

from socmon.config import settings
from socmon.warehouse import server

log = logging.getLogger(__name__)

# pg_advisory_lock key of "a dbt command is writing the warehouse" (any fixed bigint; this one spells it)
WAREHOUSE_LOCK_KEY = 0x50C_D87_B11D
# dbt commands that read only: they neither wait for the lock nor are recorded
READ_ONLY_COMMANDS = frozenset({"compile", "debug", "deps", "docs", "list", "ls", "parse", "show", "source"})

CREATE_RUNS_TABLE = """
create table if not exists ops.transform_runs (
    run_id         bigint generated always as identity primary key,
    command        text        not null,
    selector       text,
    full_refresh   boolean     not null,
    started_at     timestamptz not null,
    finished_at    timestamptz,
    success        boolean,
    data_cutoff_at timestamptz,
    as_of_at       timestamptz,
    invoked_by     text        not null,
    error          text
)
"""


def dbt_environment() -> dict[str, str]:
    params = server.connection_params("transform")
    return {
        "SOCMON_PG_HOST": str(params["host"]),
        "SOCMON_PG_PORT": str(params["port"]),
        "SOCMON_PG_DATABASE": str(params["dbname"]),
        "SOCMON_DBT_USER": str(params["user"]),
        "SOCMON_DBT_PASSWORD": str(params["password"]),
        "DO_NOT_TRACK": "1",
    }


def run_dbt(args: Sequence[str], dbt_vars: dict | None = None) -> None:
    """Run one dbt command (e.g. ["build"]) against the warehouse; raise when it fails.

    A command that writes waits for the warehouse lock and is recorded in ops.transform_runs.
    """
    if args[0] in READ_ONLY_COMMANDS:
        _invoke_dbt(args, dbt_vars)
        return
    with warehouse_lock(f"dbt {args[0]}"):
        run = _record_start(args, (dbt_vars or {}).get("as_of_at"))
        try:
            _invoke_dbt(args, dbt_vars)
        except BaseException as failure:
            _record_finish(run, success=False, error=str(failure))
            raise
        _record_finish(run, success=True)


def build(select: str | None = None, full_refresh: bool = False, dbt_vars: dict | None = None) -> None:
    args = ["build"]
    if select:
        args += ["--select", select]
    if full_refresh:
        args.append("--full-refresh")
    run_dbt(args, dbt_vars)


def _invoke_dbt(args: Sequence[str], dbt_vars: dict | None) -> None:
    from dbt.cli.main import dbtRunner

    project = settings().dbt_project_dir
    os.environ.update(dbt_environment())
    cli_args = [*args, "--project-dir", str(project), "--profiles-dir", str(project)]
    if dbt_vars:
        cli_args += ["--vars", json.dumps(dbt_vars)]
    log.info("dbt %s", " ".join(args))
    result = dbtRunner().invoke(cli_args)
    if not result.success:
        raise RuntimeError(f"dbt {' '.join(args)} failed: {result.exception or 'see the dbt log above'}")


# ---- the lock ----


@contextmanager
def warehouse_lock(purpose: str) -> Iterator[None]:
    """Hold the warehouse's build lock for the block; wait, saying who holds it, when it is taken.

    A session-level advisory lock on the owner's connection: it is released when the block ends or
    the process dies, so a killed build never leaves the warehouse locked.
    """
    name = f"socmon {purpose} ({_invoker()})"[:63]
    with server.connect("admin", autocommit=True, application_name=name) as conn:
        taken = conn.execute("select pg_try_advisory_lock(%s)", [WAREHOUSE_LOCK_KEY]).fetchone()
        if not (taken and taken[0]):
            holder, since = _lock_holder(conn)
            log.warning(
                "another dbt build holds the warehouse lock since %s (%s); waiting",
                f"{since:%Y-%m-%d %H:%M:%S %Z}" if since else "an unknown time",
                holder or "holder unknown",
            )
            waited = time.monotonic()
            conn.execute("select pg_advisory_lock(%s)", [WAREHOUSE_LOCK_KEY])
            log.info("took the warehouse lock after waiting %.0f s", time.monotonic() - waited)
        try:
            yield
        finally:
            if not conn.closed:
                conn.execute("select pg_advisory_unlock(%s)", [WAREHOUSE_LOCK_KEY])


def _lock_holder(conn: psycopg.Connection) -> tuple[str | None, datetime | None]:
    """The holder's application name and when it took the lock (its last statement ended then)."""
    row = conn.execute(
        """
        select activity.application_name, activity.state_change
        from pg_locks as locks
        join pg_stat_activity as activity on activity.pid = locks.pid
        where locks.locktype = 'advisory'
            and locks.granted
            and locks.database = (select oid from pg_database where datname = current_database())
            and (locks.classid::bigint << 32) + locks.objid::bigint = %s
        limit 1
        """,
        [WAREHOUSE_LOCK_KEY],
    ).fetchone()
    return (row[0], row[1]) if row else (None, None)


def _invoker() -> str:
    dag_id, run_id = os.environ.get("AIRFLOW_CTX_DAG_ID"), os.environ.get("AIRFLOW_CTX_DAG_RUN_ID")
    if dag_id:
        return f"airflow {dag_id} {run_id or ''}".strip()
    program = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "python"
    return f"{program} pid {os.getpid()} on {socket.gethostname()}"


# ---- the record of runs ----


@dataclass(frozen=True)
class TransformRun:
    run_id: int
    started_at: datetime
    data_cutoff_at: datetime | None


def _record_start(args: Sequence[str], as_of_at: str | None) -> TransformRun:
    """A row for the run, with what it can see: raw up to its data cut-off, the clock at as_of_at."""
    with server.connect("admin", autocommit=True) as conn:
        ensure_runs_table(conn)
        cutoff = latest_raw_load(conn)
        run_id, started_at = conn.execute(
            "insert into ops.transform_runs"
            " (command, selector, full_refresh, started_at, data_cutoff_at, as_of_at, invoked_by)"
            " values (%s, %s, %s, clock_timestamp(), %s, %s, %s) returning run_id, started_at",
            [
                " ".join(args),
                _selector(args),
                "--full-refresh" in args,
                cutoff,
                _instant(as_of_at),
                _invoker(),
            ],
        ).fetchall()[0]
    log.info("transform run %s started; raw loaded up to %s", run_id, cutoff)
    return TransformRun(run_id, started_at, cutoff)


def _selector(args: Sequence[str]) -> str | None:
    """The words after --select/-s, up to the next option; None for a build of the whole project."""
    for flag in ("--select", "-s"):
        if flag in args:
            words = []
            for word in args[list(args).index(flag) + 1 :]:
                if word.startswith("-"):
                    break
                words.append(word)
            return " ".join(words)
    return None


def _instant(text: str | None) -> datetime | None:
    """as_of_at as given to dbt; one that is no timestamp fails the build, and is not recorded."""
    try:
        return datetime.fromisoformat(text) if text else None
    except ValueError:
        return None


def _record_finish(run: TransformRun, success: bool, error: str | None = None) -> None:
    try:
        with server.connect("admin", autocommit=True) as conn:
            conn.execute(
                "update ops.transform_runs set finished_at = clock_timestamp(), success = %s, error = %s"
                " where run_id = %s",
                [success, error[-2000:] if error else None, run.run_id],
            )
    except psycopg.Error as exc:  # the build's own outcome matters more than its record
        log.error("could not record the end of transform run %s: %s", run.run_id, exc)


def ensure_runs_table(conn: psycopg.Connection) -> None:
    conn.execute("create schema if not exists ops")
    conn.execute(CREATE_RUNS_TABLE)
    conn.execute("alter table ops.transform_runs add column if not exists as_of_at timestamptz")


def latest_raw_load(conn: psycopg.Connection) -> datetime | None:
    """The latest `loaded_at` over every raw table that has one: what a build starting now can see."""
    tables = conn.execute(
        "select table_name from information_schema.columns"
        " where table_schema = 'raw' and column_name = 'loaded_at' order by table_name"
    ).fetchall()
    if not tables:
        return None
    query = sql.SQL("select greatest({})").format(
        sql.SQL(", ").join(
            sql.SQL("(select max(loaded_at) from {})").format(sql.Identifier("raw", table))
            for (table,) in tables
        )
    )
    row = conn.execute(query).fetchone()
    return row[0] if row else None
