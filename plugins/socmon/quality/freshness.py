"""Are the marts fresh enough to report a period? Judged from the builds recorded in ops.transform_runs.

A period may be reported once a complete `dbt build` (no --select) succeeded that started after the
period's end plus the extraction lag (by then extraction has loaded what was published in the period),
and no build that touched the marts has failed since (it may have left them half-built). A build run
with dbt's var `as_of_at` (a replay, or the tests' fixed clock) counts as built at that instant.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg

from socmon.config import settings
from socmon.period import ReportPeriod
from socmon.timezone import MOSCOW
from socmon.warehouse import server

log = logging.getLogger(__name__)

# commands that write the marts (a failed `dbt test` leaves them as they were)
BUILDING_COMMANDS = ("build", "run")


@dataclass(frozen=True)
class Build:
    run_id: int
    started_at: datetime  # as_of_at when the build was given one
    success: bool | None
    command: str
    data_cutoff_at: datetime | None

    def describe(self) -> str:
        cutoff = f", raw loaded up to {_msk(self.data_cutoff_at)}" if self.data_cutoff_at else ""
        return f"run {self.run_id} `dbt {self.command}` as of {_msk(self.started_at)}{cutoff}"


def freshness_failures(period: ReportPeriod, extraction_lag: timedelta) -> list[str]:
    """One line per reason the marts cannot report `period`; empty when they can."""
    needed_after = period.ends_at + extraction_lag
    with server.connect("officer", autocommit=True) as conn:
        last_good = _last_successful_full_build(conn)
        failed = _failed_build_since(conn, last_good.run_id if last_good else None)
    what = f"stale marts for {period.kind} {period.key}"
    rule = (
        f"a complete `socmon transform` must have succeeded after {_msk(needed_after)}"
        f" (the period's end plus the {_duration(extraction_lag)} extraction lag)"
    )
    failures = []
    if last_good is None:
        failures.append(f"{what}: {rule}; no successful complete build is recorded")
    elif last_good.started_at < needed_after:
        failures.append(f"{what}: {rule}; the last one is {last_good.describe()}")
    if failed:
        failures.append(
            f"marts possibly half-built for {period.kind} {period.key}: the latest build failed"
            f" ({failed.describe()}); fix it and run `socmon transform` again"
        )
    return failures


def _last_successful_full_build(conn: psycopg.Connection) -> Build | None:
    row = conn.execute(
        "select run_id, coalesce(as_of_at, started_at) as built_at, success, command, data_cutoff_at"
        " from ops.transform_runs"
        " where success and selector is null and split_part(command, ' ', 1) = 'build'"
        " order by run_id desc limit 1"
    ).fetchone()
    return Build(*row) if row else None


def _failed_build_since(conn: psycopg.Connection, since: int | None) -> Build | None:
    row = conn.execute(
        "select run_id, coalesce(as_of_at, started_at), success, command, data_cutoff_at"
        " from ops.transform_runs"
        " where success is false and split_part(command, ' ', 1) = any(%s)"
        " and (%s::bigint is null or run_id > %s)"
        " order by run_id desc limit 1",
        [list(BUILDING_COMMANDS), since, since],
    ).fetchone()
    return Build(*row) if row else None


def _msk(moment: datetime) -> str:
    return moment.astimezone(MOSCOW).strftime("%Y-%m-%d %H:%M MSK")


def _duration(lag: timedelta) -> str:
    minutes = lag.total_seconds() / 60
    return f"{minutes / 60:g} h" if minutes >= 60 else f"{minutes:g} min"


class StaleMarts(RuntimeError):
    """The marts were still not fresh for a period when waiting for them ended."""


def marts_ready_for(period: ReportPeriod, give_up_at: datetime, now: datetime | None = None) -> bool:
    """For a sensor: True when the marts can report `period`, False to wait, StaleMarts past `give_up_at`."""
    failures = freshness_failures(period, settings().extraction_lag)
    if not failures:
        return True
    reason = "; ".join(failures)
    if (now or datetime.now(MOSCOW)) >= give_up_at:
        raise StaleMarts(f"{reason} (waited until {_msk(give_up_at)})")
    log.info("waiting for fresh marts: %s", reason)
    return False
