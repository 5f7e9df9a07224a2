"""The weekly and monthly reports: Monday 09:00 Moscow for the previous ISO week, the 1st for the
previous month. The gate first (a failed gate sends the krai's officers a hold notice and nothing else),
then the exports, then the delivery to the recipients registry (see plugins/socmon/reports/delivery.py).
"""

import pendulum
from airflow.sdk import CronTriggerTimetable, dag, task

SCHEDULES = {"week": "0 9 * * 1", "month": "0 9 1 * *"}


def publication(period: str, cron: str):
    @dag(
        dag_id=f"socmon_publish_{period}ly",
        schedule=CronTriggerTimetable(cron, timezone="Europe/Moscow"),
        start_date=pendulum.datetime(2026, 1, 1, tz="Europe/Moscow"),
        catchup=False,
        default_args={"retries": 2, "retry_delay": pendulum.duration(minutes=5)},
        tags=["socmon", "publish"],
    )
    def publish():
        @task
        def quality_gate(logical_date=None) -> str:
            from airflow.sdk.exceptions import AirflowFailException

            from socmon.reports.delivery import gate_or_hold

            held = gate_or_hold(period, logical_date.in_timezone("Europe/Moscow").date())
            if held:
                raise AirflowFailException(held)  # a failed gate is not retried
            return "passed"

        @task
        def export(logical_date=None) -> list[str]:
            from socmon.reports.delivery import export_scheduled

            return export_scheduled(period, logical_date.in_timezone("Europe/Moscow").date())

        @task
        def deliver(paths: list[str], logical_date=None) -> str:
            from socmon.reports.delivery import deliver_scheduled

            return deliver_scheduled(period, logical_date.in_timezone("Europe/Moscow").date(), paths)

        exported = export()
        quality_gate() >> exported
        deliver(exported)

    return publish()


for _period, _cron in SCHEDULES.items():
    publication(_period, _cron)
