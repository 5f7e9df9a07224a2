"""`socmon transform`: dbt build as the transform role, each dbt command in a process of its own
(`socmon.dbt_process`: its settings are given to it, never written into this process's environment).

One build at a time: every dbt command that writes takes the warehouse's advisory lock first, whoever
runs it (the DAG, the CLI, the demo, the tests); a second one logs who holds it and waits. Each such
run is recorded in `ops.transform_runs` with the latest raw `loaded_at` it saw (its data cut-off), so
the publish gate can tell whether the marts cover the period it reports.

A cycle's build (`build()` without a selection) keeps dbt's fixed cost small: a parse is partial (from
target/partial_parse.msgpack, kept between runs, while the profile and vars stay the same); seeds are
loaded only when their files changed since they were last loaded (`sync_seeds`, a hash per seed in
ops.seed_loads); the whole-table data tests (tag `daily`) are left to the daily gate
(`run_daily_tests`); dbt's unit tests, which test the code and not the data, run in the first cycle
after the code changed.
"""

from __future__ import annotations

import hashlib
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
from socmon.dbt_process import dbt_environment as dbt_environment  # imported from here by tests
from socmon.dbt_process import invoke_dbt
from socmon.warehouse import server

log = logging.getLogger(__name__)

# pg_advisory_lock key of "a dbt command is writing the warehouse" (any fixed bigint; this one spells it)
WAREHOUSE_LOCK_KEY = 0x50C_D87_B11D
# dbt commands that read only: they neither wait for the lock nor are recorded
READ_ONLY_COMMANDS = frozenset({"compile", "debug", "deps", "docs", "list", "ls", "parse", "show", "source"})
# what a cycle's build leaves out: the seeds (sync_seeds loads the changed ones) and the whole-table
# data tests (the daily gate runs them)
# (excluding resource_type:seed also leaves out the seeds' tests, which --exclude-resource-type keeps)
CYCLE_EXCLUDES = ["--exclude", "resource_type:seed", "tag:daily"]
DAILY_TESTS = ["test", "--select", "tag:daily"]

# the row of ops.seed_loads that holds the hash of the code whose unit tests last passed in a cycle
CODE_ROW = "(code)"
# The transform connects as its own role only: dbt, the build lock, and its records in ops
# (ops.transform_runs, ops.seed_loads: socmon.warehouse.ops_records)
ROLE = "transform"


def run_dbt(args: Sequence[str], dbt_vars: dict | None = None) -> None:
    """Run one dbt command (e.g. ["build"]) against the warehouse; raise when it fails.

    A command that writes waits for the warehouse lock and is recorded in ops.transform_runs.
    """
    if args[0] in READ_ONLY_COMMANDS:
        invoke_dbt(args, dbt_vars)
        return
    with warehouse_lock(f"dbt {args[0]}"):
        _recorded(args, dbt_vars)


def build(select: str | None = None, full_refresh: bool = False, dbt_vars: dict | None = None) -> None:
    """`dbt build`. Without a selection, a cycle: the changed seeds (all of them on a full refresh),
    then every model and snapshot with the data tests that are not `daily`, and the unit tests when the
    code changed since the last cycle that passed them; all under one hold of the lock."""
    args = ["build"]
    if select:
        args += ["--select", select]
    if full_refresh:
        args.append("--full-refresh")
    if select:
        run_dbt(args, dbt_vars)
        return
    with warehouse_lock("dbt build"):
        sync_seeds(dbt_vars, reload_all=full_refresh)
        code = code_hash()
        with server.connect(ROLE, autocommit=True) as conn:
            tested = _tested_code(conn)
        unit_tests = ["--exclude-resource-type", "unit_test"] if code == tested else []
        if code != tested:
            log.info("the dbt project's code changed since the last cycle: its unit tests run")
        _recorded([*args, *CYCLE_EXCLUDES, *unit_tests], dbt_vars)
        with server.connect(ROLE, autocommit=True) as conn:
            _record_tested_code(conn, code)


def run_daily_tests(dbt_vars: dict | None = None) -> None:
    """The whole-table data tests (tag `daily`) the cycle leaves out; the daily gate runs them."""
    run_dbt(DAILY_TESTS, dbt_vars)


def _recorded(args: Sequence[str], dbt_vars: dict | None) -> None:
    """Invoke dbt with a row in ops.transform_runs; the caller holds the lock."""
    run = _record_start(args, (dbt_vars or {}).get("as_of_at"))
    try:
        invoke_dbt(args, dbt_vars)
    except BaseException as failure:
        _record_finish(run, success=False, error=str(failure))
        raise
    _record_finish(run, success=True)


# ---- seeds: loaded when their files change ----


def seed_files() -> dict[str, str]:
    """Each seed's name and the hash of what loading it depends on: its CSV and the seeds' YAML
    (column types, tests). A seed is named after its file, as dbt names it."""
    folder = settings().dbt_project_dir / "seeds"
    properties = hashlib.sha256()
    for path in sorted(folder.rglob("*.yml")):
        properties.update(path.read_bytes())
    return {
        path.stem: hashlib.sha256(properties.digest() + path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*.csv"))
    }


def changed_seeds(conn: psycopg.Connection, files: dict[str, str]) -> list[str]:
    """Seeds whose file hash differs from the one last loaded, or whose table is missing."""
    loaded: dict[str, str] = dict(conn.execute("select seed, file_hash from ops.seed_loads").fetchall())
    tables = {
        name
        for (name,) in conn.execute(
            "select table_name from information_schema.tables where table_schema = 'staging'"
        ).fetchall()
    }
    return [seed for seed, digest in files.items() if loaded.get(seed) != digest or seed not in tables]


def sync_seeds(dbt_vars: dict | None = None, reload_all: bool = False) -> list[str]:
    """Reload the seeds whose files changed (or every seed), with their tests; returns their names.

    Each changed seed is recreated (the seeds' `+full_refresh`), so a new column set loads too. The
    caller holds the warehouse lock. Nothing changed: no dbt command runs at all.
    """
    files = seed_files()
    with server.connect(ROLE, autocommit=True) as conn:
        changed = list(files) if reload_all else changed_seeds(conn, files)
    if not changed:
        log.info("seeds unchanged: none reloaded")
        return []
    log.info("seeds to reload: %s", ", ".join(changed))
    _recorded(["build", "--select", *changed, "--exclude", "tag:daily"], dbt_vars)
    with server.connect(ROLE, autocommit=True) as conn, conn.transaction():
        for seed in changed:
            conn.execute(
                "insert into ops.seed_loads (seed, file_hash) values (%s, %s)"
                " on conflict (seed) do update set file_hash = excluded.file_hash,"
                " loaded_at = clock_timestamp()",
                [seed, files[seed]],
            )
    return changed


# ---- unit tests: run when the code changes ----


def code_hash() -> str:
    """The hash of the dbt project's code (models, macros, snapshots, tests, dbt_project.yml)."""
    project = settings().dbt_project_dir
    digest = hashlib.sha256()
    files = [project / "dbt_project.yml"]
    for folder in ("models", "macros", "snapshots", "tests"):
        files += sorted(p for p in (project / folder).rglob("*") if p.is_file())
    for path in files:
        digest.update(str(path.relative_to(project)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _tested_code(conn: psycopg.Connection) -> str | None:
    """The code hash of the last cycle that ran the unit tests and succeeded (a '(code)' row)."""
    row = conn.execute("select file_hash from ops.seed_loads where seed = %s", [CODE_ROW]).fetchone()
    return row[0] if row else None


def _record_tested_code(conn: psycopg.Connection, code: str) -> None:
    conn.execute(
        "insert into ops.seed_loads (seed, file_hash) values (%s, %s) on conflict (seed) do update"
        " set file_hash = excluded.file_hash, loaded_at = clock_timestamp()",
        [CODE_ROW, code],
    )


# ---- the lock ----


@contextmanager
def warehouse_lock(purpose: str) -> Iterator[None]:
    """Hold the warehouse's build lock for the block; wait, saying who holds it, when it is taken.

    A session-level advisory lock on the transform role's connection: it is released when the block ends
    or the process dies, so a killed build never leaves the warehouse locked.
    """
    name = f"socmon {purpose} ({_invoker()})"[:63]
    with server.connect(ROLE, autocommit=True, application_name=name) as conn:
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
    with server.connect(ROLE, autocommit=True) as conn:
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
        with server.connect(ROLE, autocommit=True) as conn:
            conn.execute(
                "update ops.transform_runs set finished_at = clock_timestamp(), success = %s, error = %s"
                " where run_id = %s",
                [success, error[-2000:] if error else None, run.run_id],
            )
    except psycopg.Error as exc:  # the build's own outcome matters more than its record
        log.error("could not record the end of transform run %s: %s", run.run_id, exc)


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
