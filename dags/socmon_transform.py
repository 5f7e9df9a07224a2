"""dbt build of staging, classification and marts, whenever extraction has loaded new raw data."""

import pendulum
from airflow.sdk import dag, task

from socmon.assets import MARTS, RAW_MESSAGES


@dag(
    schedule=[RAW_MESSAGES],
    start_date=pendulum.datetime(2026, 1, 1, tz="Europe/Moscow"),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": pendulum.duration(minutes=2)},
    tags=["socmon", "transform", "dbt"],
)
def socmon_transform():
    @task(outlets=[MARTS])
    def dbt_build() -> None:
        from socmon.transform import build

        build()

    dbt_build()


socmon_transform()
