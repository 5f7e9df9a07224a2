"""The reports for compliance officers, at 09:00 Moscow time: `socmon_publish` daily for yesterday,
`socmon_publish_weekly` on Mondays for the previous ISO week, `socmon_publish_monthly` on the 1st for
the previous month. Each run: wait for fresh marts, the quality gate, the exports, then delivery by
e-mail to the recipients registry (plugins/socmon/reports/delivery.py).

The schedule is a clock, not the MARTS asset: officers expect the report at a fixed hour, and the
transform runs every cycle, so an asset schedule would publish every cycle or need its own record of
which period is due. The clock only starts the run: its first task waits (reschedule mode, holding no
worker slot) until the transform that covers the period has run, i.e. a complete `dbt build` that
started after the period's end plus the extraction lag has succeeded and none has failed since; after
`max_wait_hours` it fails, naming the period and the last build. The gate checks the same freshness
(as every CLI export does), the period's rows and the whole tables, with dbt's data tests tagged `daily`
that the 10-minute cycles leave out; a failed gate sends the krai's
officers a hold notice and nothing else. Without an `smtp_default` connection the delivery is skipped
and the reports stay in out/.
"""

import pendulum
from airflow.sdk import CronTriggerTimetable, Param, PokeReturnValue, dag, task

from socmon.timezone import TIME_ZONE

SCHEDULES = {
    "day": ("socmon_publish", "0 9 * * *"),
    "week": ("socmon_publish_weekly", "0 9 * * 1"),
    "month": ("socmon_publish_monthly", "0 9 1 * *"),
}


def _run_day(logical_date):
    return logical_date.in_timezone(TIME_ZONE).date()


def publication(period: str, dag_id: str, cron: str):
    @dag(
        dag_id=dag_id,
        schedule=CronTriggerTimetable(cron, timezone=TIME_ZONE),
        start_date=pendulum.datetime(2026, 1, 1, tz=TIME_ZONE),
        catchup=False,
        default_args={"retries": 2, "retry_delay": pendulum.duration(minutes=5)},
        params={
            "max_wait_hours": Param(6, type="number", description="how long to wait for fresh marts"),
            "whole_table_tests": Param(True, type="boolean", description="the gate runs dbt's daily tests"),
        },
        tags=["socmon", "publish"],
    )
    def publish():
        @task.sensor(poke_interval=600, timeout=24 * 3600, mode="reschedule")
        def marts_cover_the_period(logical_date=None, params=None) -> PokeReturnValue:
            from airflow.sdk.exceptions import AirflowFailException

            from socmon.period import previous_period
            from socmon.quality.freshness import StaleMarts, marts_ready_for

            give_up_at = logical_date + pendulum.duration(hours=params["max_wait_hours"])
            try:
                ready = marts_ready_for(previous_period(period, _run_day(logical_date)), give_up_at)
            except StaleMarts as stale:
                raise AirflowFailException(str(stale)) from None  # it waited max_wait_hours: no retry
            return PokeReturnValue(is_done=ready)

        @task
        def quality_gate(logical_date=None, params=None) -> None:
            from airflow.sdk.exceptions import AirflowFailException

            from socmon.reports.delivery import gate_or_hold

            day = _run_day(logical_date)
            held = gate_or_hold(period, day, whole_table_tests=params["whole_table_tests"])
            if held:
                raise AirflowFailException(held)  # a failed gate is not retried

        @task
        def export(logical_date=None) -> list[str]:
            from socmon.reports.delivery import export_scheduled

            return export_scheduled(period, _run_day(logical_date))

        @task
        def deliver(paths: list[str], logical_date=None) -> str:
            from airflow.sdk.exceptions import AirflowSkipException

            from socmon.reports.delivery import deliver_scheduled
            from socmon.reports.mail import DEFAULT_CONN_ID, delivery_configured

            if not delivery_configured():
                raise AirflowSkipException(
                    f"no SMTP connection {DEFAULT_CONN_ID!r}: the reports stay in out/"
                )
            return deliver_scheduled(period, _run_day(logical_date), paths)

        exported = export()
        marts_cover_the_period() >> quality_gate() >> exported
        deliver(exported)

    return publish()


for _period, (_dag_id, _cron) in SCHEDULES.items():
    publication(_period, _dag_id, _cron)
