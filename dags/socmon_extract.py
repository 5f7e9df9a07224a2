"""Extraction of every registered source into raw, every 10 minutes (see plugins/socmon/sources).

Each platform's sources are read in batches by mapped tasks, in a pool per platform so that parallel
tasks cannot exceed the platform's rate limit together. The window is the data interval; to backfill
or replay a range, trigger with params `window_start`/`window_end` (ISO timestamps). Re-reading a
window loads nothing twice. The cycle is SOCMON_EXTRACT_EVERY_MINUTES (default 10); a run that overlaps
the next waits for it (max_active_runs=1), and one still running after a cycle is a deadline alert.
"""

import pendulum
from airflow.sdk import Param, dag, task

from socmon.assets import RAW_MESSAGES
from socmon.constants import PLATFORMS, TIME_ZONE
from socmon.cycle import cycle_deadline, extract_schedule


@dag(
    schedule=extract_schedule(),
    start_date=pendulum.datetime(2026, 1, 1, tz=TIME_ZONE),
    catchup=False,
    max_active_runs=1,
    deadline=cycle_deadline(),
    default_args={"retries": 2, "retry_delay": pendulum.duration(minutes=2)},
    params={
        "window_start": Param(None, type=["null", "string"], description="ISO start of a backfill window"),
        "window_end": Param(None, type=["null", "string"], description="ISO end of a backfill window"),
    },
    tags=["socmon", "extract"],
)
def socmon_extract():
    @task
    def planned_batches(platform: str) -> list[list[dict]]:
        from socmon.sources.registry import due_source_batches

        return due_source_batches(platform)

    @task(outlets=[RAW_MESSAGES])
    def extract(
        sources: list[dict], platform: str, params=None, data_interval_start=None, data_interval_end=None
    ):
        from socmon.hooks.factory import extractor_from_airflow
        from socmon.sources import extract_batch_into_raw

        since = pendulum.parse(params["window_start"]) if params.get("window_start") else data_interval_start
        until = pendulum.parse(params["window_end"]) if params.get("window_end") else data_interval_end
        return extract_batch_into_raw(sources, since, until, extractor_from_airflow(platform))

    for platform in PLATFORMS:
        batches = planned_batches.override(task_id=f"plan_{platform}")(platform)
        extract.override(task_id=f"extract_{platform}", pool=f"{platform}_api").partial(
            platform=platform
        ).expand(sources=batches)


socmon_extract()
