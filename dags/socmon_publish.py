"""Daily at 09:00 Moscow time: yesterday's exports for compliance officers, from marts built after it.

The schedule stays a clock, not the MARTS asset: officers expect the report at a fixed hour, and the
transform runs every hour, so an asset schedule would publish hourly or need its own record of which
day is due. The clock only starts the run: its first task waits (reschedule mode, holding no worker
slot) until the transform that covers the day has run, i.e. a complete `dbt build` that started after
the day's end plus the extraction lag has succeeded and none has failed since; after `max_wait_hours`
it fails, naming the day and the last build. Then the quality gate, which checks the same freshness
(as every CLI export does), the day's rows and the whole tables; only then the export.
"""

import pendulum
from airflow.sdk import CronTriggerTimetable, Param, PokeReturnValue, dag, task

from socmon.timezone import TIME_ZONE


def _reported_day(logical_date):
    """The run at 09:00 reports the Moscow day before."""
    return logical_date.in_timezone(TIME_ZONE).date() - pendulum.duration(days=1)


@dag(
    schedule=CronTriggerTimetable("0 9 * * *", timezone=TIME_ZONE),
    start_date=pendulum.datetime(2026, 1, 1, tz=TIME_ZONE),
    catchup=False,
    default_args={"retries": 2, "retry_delay": pendulum.duration(minutes=5)},
    params={
        "max_wait_hours": Param(6, type="number", description="how long to wait for fresh marts"),
    },
    tags=["socmon", "publish"],
)
def socmon_publish():
    @task.sensor(poke_interval=600, timeout=24 * 3600, mode="reschedule")
    def marts_cover_the_day(logical_date=None, params=None) -> PokeReturnValue:
        from airflow.sdk.exceptions import AirflowFailException

        from socmon.quality.freshness import StaleMarts, marts_ready_for
        from socmon.reports.period import report_period

        day = _reported_day(logical_date)
        give_up_at = logical_date + pendulum.duration(hours=params["max_wait_hours"])
        try:
            return PokeReturnValue(is_done=marts_ready_for(report_period("day", day), give_up_at))
        except StaleMarts as stale:
            raise AirflowFailException(str(stale)) from None  # it waited max_wait_hours: no retry

    @task
    def quality_gate(logical_date=None) -> None:
        from airflow.sdk.exceptions import AirflowFailException

        from socmon.quality.gate import run_gate
        from socmon.reports.period import report_period

        result = run_gate(period=report_period("day", _reported_day(logical_date)))
        if not result.success:
            raise AirflowFailException(result.summary())  # a failed gate is not retried

    @task
    def export_yesterday(logical_date=None) -> list[str]:
        from socmon.reports.export import export_period

        return [str(path) for path in export_period("day", _reported_day(logical_date))]

    marts_cover_the_day() >> quality_gate() >> export_yesterday()


socmon_publish()
