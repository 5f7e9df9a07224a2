"""One dbt build at a time: `socmon transform` waits for the warehouse lock, and each run is recorded."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from socmon.transform import WAREHOUSE_LOCK_KEY, run_dbt, warehouse_lock

pytestmark = pytest.mark.integration

SMALL_BUILD = ["transform", "--select", "working_calendar"]  # one seed: a real, short dbt build
GIVE_UP_AFTER_S = 300  # only against a hang; nothing below depends on how long anything takes


def _socmon(args: list[str], log: Path) -> subprocess.Popen:
    socmon = Path(sys.executable).with_name("socmon")
    return subprocess.Popen(
        [str(socmon), *args], stdout=log.open("w"), stderr=subprocess.STDOUT, env=os.environ
    )


def _waiting_for_the_lock(admin) -> int:
    return admin.execute(
        "select count(*) from pg_locks where locktype = 'advisory' and not granted"
        " and (classid::bigint << 32) + objid::bigint = %s",
        [WAREHOUSE_LOCK_KEY],
    ).fetchone()[0]


def _runs(admin) -> list[tuple]:
    return admin.execute(
        "select started_at, finished_at, success, selector, invoked_by"
        " from ops.transform_runs order by run_id"
    ).fetchall()


def test_two_transforms_started_together_both_finish_one_after_the_other(admin, tmp_path: Path) -> None:
    logs = [tmp_path / "first.log", tmp_path / "second.log"]
    deadline = time.monotonic() + GIVE_UP_AFTER_S
    with warehouse_lock("test holding the warehouse"):  # so that both surely start while it is taken
        processes = [_socmon(SMALL_BUILD, log) for log in logs]
        while _waiting_for_the_lock(admin) < 2:
            assert all(p.poll() is None for p in processes), [log.read_text()[-2000:] for log in logs]
            assert time.monotonic() < deadline, "the two transforms never waited for the lock"
            time.sleep(0.2)
    codes = [p.wait(timeout=GIVE_UP_AFTER_S) for p in processes]

    outputs = [log.read_text() for log in logs]
    assert codes == [0, 0], outputs
    for output in outputs:
        assert "another dbt build holds the warehouse lock since " in output
        assert "(socmon test holding the warehouse (" in output
        assert "; waiting" in output
    first, second = _runs(admin)
    assert first[2] is True and second[2] is True
    assert first[3] == second[3] == "working_calendar"
    assert first[1] <= second[0], "the second build started before the first had finished"


def test_a_failed_build_is_recorded_as_failed(admin) -> None:
    with pytest.raises(RuntimeError, match="dbt build"):
        # the calendar test reads as_of_at: a value that is no timestamp makes it fail
        run_dbt(
            ["build", "--select", "working_calendar", "assert_working_calendar_covers_the_sla_horizon"],
            {"as_of_at": "not a time"},
        )

    started_at, finished_at, success, selector, invoked_by = _runs(admin)[-1]
    assert success is False and finished_at >= started_at
    assert selector == "working_calendar assert_working_calendar_covers_the_sla_horizon"
    assert invoked_by.endswith(f"pid {os.getpid()} on {os.uname().nodename}")
    with warehouse_lock("after a failure"):  # the lock was released
        pass
