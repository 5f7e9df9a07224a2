"""The cycle's clock: how often extraction runs, and the deadline alert that makes a slow cycle visible.

Airflow 3 has no SLAs; its deadline alerts replace them. Each cycle DAG gets one: when a run is still
not finished `budget` after it was queued, the triggerer calls `slow_cycle`, which logs a warning
naming the DAG, the run and the budget (the triggerer's log; a mail or chat hook can be added there).
Per cycle figures (messages read, publication-to-incident delay, transform duration) are in
marts.mart_pipeline_latency.
"""

from __future__ import annotations

import logging

from airflow.sdk.definitions.callback import AsyncCallback
from airflow.sdk.definitions.deadline import DeadlineAlert, DeadlineReference
from airflow.sdk.definitions.timetables.trigger import DeltaTriggerTimetable

from socmon.config import settings

log = logging.getLogger(__name__)


def extract_schedule() -> DeltaTriggerTimetable:
    """Every SOCMON_EXTRACT_EVERY_MINUTES (default 10); each run's data interval is the cycle before it."""
    every = settings().extract_every
    return DeltaTriggerTimetable(every, interval=every)


def cycle_deadline() -> DeadlineAlert | None:
    """A deadline alert SOCMON_CYCLE_DEADLINE_MINUTES after the run was queued (default: one cycle);
    0 turns it off (`airflow dags test` of Airflow 3.3 fails on a DAG with a deadline: see
    socmon.orchestration.dags_test)."""
    budget = settings().cycle_deadline
    if not budget:
        return None
    return DeadlineAlert(
        reference=DeadlineReference.DAGRUN_QUEUED_AT,
        interval=budget,
        callback=AsyncCallback(slow_cycle, kwargs={"budget_minutes": budget.total_seconds() / 60}),
    )


async def slow_cycle(budget_minutes: float, context: dict | None = None, **_: object) -> None:
    """The deadline alert's callback: a run took longer than its budget."""
    dag_run = (context or {}).get("dag_run") or {}
    dag_id = getattr(dag_run, "dag_id", None) or (
        dag_run.get("dag_id") if isinstance(dag_run, dict) else None
    )
    run_id = getattr(dag_run, "run_id", None) or (
        dag_run.get("run_id") if isinstance(dag_run, dict) else None
    )
    log.warning(
        "slow cycle: %s run %s is not finished %.0f minutes after it was queued",
        dag_id or "a socmon DAG",
        run_id or "?",
        budget_minutes,
    )
