"""Hourly extraction of every registered source into raw (see plugins/socmon/sources).

The window is the data interval. To backfill or replay a range, trigger with params
`window_start`/`window_end` (ISO timestamps); re-reading a window loads nothing twice.
"""

import pendulum
from airflow.sdk import Param, dag, task

from socmon.assets import RAW_MESSAGES


@dag(
    schedule="@hourly",
    start_date=pendulum.datetime(2026, 1, 1, tz="Europe/Moscow"),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": pendulum.duration(minutes=2)},
    params={
        "window_start": Param(None, type=["null", "string"], description="ISO start of a backfill window"),
        "window_end": Param(None, type=["null", "string"], description="ISO end of a backfill window"),
    },
    tags=["socmon", "extract"],
)
def socmon_extract():
    @task
    def planned_vk_batches() -> list[list[dict]]:
        from socmon.sources.registry import due_source_batches

        return due_source_batches("vk")

    @task(pool="vk_api", outlets=[RAW_MESSAGES])
    def extract_vk(sources: list[dict], params=None, data_interval_start=None, data_interval_end=None) -> dict:
        from socmon.hooks.vk import VkHook
        from socmon.sources import extract_batch_into_raw
        from socmon.sources.vk import VkExtractor

        since = pendulum.parse(params["window_start"]) if params.get("window_start") else data_interval_start
        until = pendulum.parse(params["window_end"]) if params.get("window_end") else data_interval_end
        return extract_batch_into_raw(sources, since, until, VkExtractor(VkHook().get_conn()))

    extract_vk.expand(sources=planned_vk_batches())


socmon_extract()
