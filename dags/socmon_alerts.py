"""After each transform: new incidents to their bodies' curators, and reminders before the deadline.

Runs on the MARTS asset that `socmon_transform` updates; see plugins/socmon/reports/alerts.py. Trigger
with params `as_of` (ISO instant, default now) to replay a moment, `reminder_working_hours` to change
how long before the deadline the reminder goes.
"""

import pendulum
from airflow.sdk import Param, dag, task

from socmon.assets import MARTS


@dag(
    schedule=[MARTS],
    start_date=pendulum.datetime(2026, 1, 1, tz="Europe/Moscow"),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 3, "retry_delay": pendulum.duration(minutes=1)},
    params={
        "as_of": Param(None, type=["null", "string"], description="ISO instant to alert as of (default now)"),
        "reminder_working_hours": Param(1.0, type="number", description="remind this long before a deadline"),
    },
    tags=["socmon", "alerts"],
)
def socmon_alerts():
    @task
    def send_alerts(params=None) -> str:
        from socmon.reports.alerts import run_alerts

        as_of = pendulum.parse(params["as_of"]) if params.get("as_of") else None
        return run_alerts(as_of, reminder_working_hours=float(params["reminder_working_hours"])).summary()

    send_alerts()


socmon_alerts()
