"""Daily retention of citizens' personal data (152-FZ): raw payloads and quarantined records older than
`retention_days` (default 365, or SOCMON_RETENTION_DAYS) are deleted, and the texts, links and author ids
of the messages published before then are cleared in the incremental tables; the incidents keep their
non-personal facts. See plugins/socmon/warehouse/retention.py; erasing one person is `socmon forget`.
"""

import pendulum
from airflow.sdk import Param, dag, task

from socmon.constants import TIME_ZONE


@dag(
    schedule="30 3 * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz=TIME_ZONE),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": pendulum.duration(minutes=10)},
    params={
        "retention_days": Param(
            None, type=["null", "integer"], description="keep this many days (default 365)"
        )
    },
    tags=["socmon", "retention"],
)
def socmon_retention():
    @task
    def expire_personal_data(params=None, logical_date=None) -> str:
        from socmon.warehouse.retention import expire_personal_data

        return expire_personal_data(params.get("retention_days"), now=logical_date).summary()

    expire_personal_data()


socmon_retention()
