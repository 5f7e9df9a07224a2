"""dbt build of staging, classification and marts, whenever extraction has loaded new raw data.

A cycle's build: the seeds whose files changed, then the models and snapshots with the tests that are
not `daily` (plugins/socmon/transform.py). Runs wait for each other (max_active_runs=1 and the build
lock); one still running a cycle after it was queued is a deadline alert.
"""

import pendulum
from airflow.sdk import dag, task

from socmon.assets import MARTS, RAW_MESSAGES
from socmon.cycle import cycle_deadline
from socmon.timezone import TIME_ZONE


@dag(
    schedule=[RAW_MESSAGES],
    start_date=pendulum.datetime(2026, 1, 1, tz=TIME_ZONE),
    catchup=False,
    max_active_runs=1,
    deadline=cycle_deadline(),
    default_args={"retries": 2, "retry_delay": pendulum.duration(minutes=2)},
    tags=["socmon", "transform", "dbt"],
)
def socmon_transform():
    @task(outlets=[MARTS])
    def dbt_build(dag_run=None) -> None:
        from socmon.transform import build

        # `airflow dags test -c '{"as_of_at": ...}'` evaluates the SLA at that instant (the tests' clock)
        as_of_at = (dag_run.conf or {}).get("as_of_at") if dag_run else None
        build(dbt_vars={"as_of_at": as_of_at} if as_of_at else None)

    dbt_build()


socmon_transform()
