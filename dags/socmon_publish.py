"""Daily at 09:00 Moscow time: the quality gate, then yesterday's exports for compliance officers."""

import pendulum
from airflow.sdk import CronTriggerTimetable, dag, task


@dag(
    schedule=CronTriggerTimetable("0 9 * * *", timezone="Europe/Moscow"),
    start_date=pendulum.datetime(2026, 1, 1, tz="Europe/Moscow"),
    catchup=False,
    default_args={"retries": 2, "retry_delay": pendulum.duration(minutes=5)},
    tags=["socmon", "publish"],
)
def socmon_publish():
    @task
    def quality_gate() -> None:
        from airflow.sdk.exceptions import AirflowFailException

        from socmon.quality.gate import run_gate

        result = run_gate()
        if not result.success:
            raise AirflowFailException(result.summary())  # a failed gate is not retried

    @task
    def export_yesterday(logical_date=None) -> list[str]:
        from socmon.reports.export import export_period

        report_day = logical_date.in_timezone("Europe/Moscow").date() - pendulum.duration(days=1)
        return [str(path) for path in export_period("day", report_day)]

    quality_gate() >> export_yesterday()


socmon_publish()
