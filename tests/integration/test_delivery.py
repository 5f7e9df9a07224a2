"""Delivery and alerts through a real SMTP server on localhost (aiosmtpd), with the real DAGs.

Two sandbox days are extracted one at a time; after each, `socmon_transform` and `socmon_alerts` run
(`airflow dags test`), so the second alert cycle shows only the incidents the second day brought. Then
the weekly publication DAG and `socmon deliver` send the reports, while the server refuses one curator.
"""

from __future__ import annotations

import os
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from socmon.calendar import working_hours_between
from socmon.cli import main as socmon
from socmon.config import settings
from socmon.orchestration import airflow_environment, dags_test, ensure_airflow
from socmon.period import report_period
from socmon.reports.alerts import run_alerts
from socmon.reports.delivery import deliver_reports
from socmon.reports.export import export_period
from socmon.reports.recipients import load_recipients
from socmon_sandbox import running_sandbox
from socmon_sandbox.mailbox import running_mailbox

pytestmark = pytest.mark.integration

MOSCOW = ZoneInfo("Europe/Moscow")
FIRST_DAY = date(2026, 11, 25)  # Wed and Thu of ISO week 2026-W48 (23–29 November)
DAYS = 2
REPORT_DAY = date(2026, 11, 26)
WEEKLY_RUN = datetime(2026, 11, 30, 9, tzinfo=MOSCOW)  # Monday: the previous ISO week
REFUSED = "curator.mintrans@example.org"
# The fixed clock: each day is extracted at 23:00, transformed at 23:10 and alerted on at 23:15.
LOADED_AT = {
    day: datetime.combine(day, datetime.min.time(), MOSCOW).replace(hour=23)
    for day in (FIRST_DAY, REPORT_DAY)
}


def window(day: date) -> dict:
    start = datetime.combine(day, datetime.min.time(), MOSCOW)
    return {"window_start": start.isoformat(), "window_end": (start + timedelta(days=1)).isoformat()}


@pytest.fixture(scope="module")
def recipients():
    return load_recipients()


@pytest.fixture(scope="module")
def mailbox():
    with running_mailbox(refuse={REFUSED}) as server:
        previous = os.environ.get("AIRFLOW_CONN_SMTP_DEFAULT")
        os.environ["AIRFLOW_CONN_SMTP_DEFAULT"] = server.connection_uri  # for the in-process `socmon deliver`
        yield server
        if previous is None:
            os.environ.pop("AIRFLOW_CONN_SMTP_DEFAULT", None)
        else:
            os.environ["AIRFLOW_CONN_SMTP_DEFAULT"] = previous


@pytest.fixture(scope="module")
def cycles(warehouse, mailbox, tmp_path_factory, stamp_loads):
    """Per day: extract, transform, alerts. Yields what each alert cycle delivered, and the environment."""
    logs = tmp_path_factory.mktemp("delivery-logs")
    delivered = []
    with running_sandbox(FIRST_DAY, DAYS) as sandbox, warehouse.connect("admin", autocommit=True) as admin:
        env = airflow_environment(
            {**sandbox.connections, "AIRFLOW_CONN_SMTP_DEFAULT": mailbox.connection_uri}
        )
        ensure_airflow(env)
        for day, loaded_at in LOADED_AT.items():
            with stamp_loads(admin, loaded_at):
                end = datetime.fromisoformat(window(day)["window_end"])
                dags_test("socmon_extract", end, env, conf=window(day), log_file=logs / f"extract-{day}.log")
            as_of = loaded_at + timedelta(minutes=10)
            dags_test(
                "socmon_transform",
                as_of,
                env,
                conf={"as_of_at": as_of.isoformat()},
                log_file=logs / f"transform-{day}.log",
            )
            mailbox.clear()
            alert_at = loaded_at + timedelta(minutes=15)
            dags_test(
                "socmon_alerts",
                alert_at,
                env,
                conf={"as_of": alert_at.isoformat()},
                log_file=logs / f"alerts-{day}.log",
            )
            delivered.append(list(mailbox.received))
    return {"alerts": delivered, "env": env, "logs": logs}


def incidents_by_id(warehouse) -> dict[str, dict]:
    with warehouse.connect("admin") as conn:
        rows = conn.execute(
            "select incident_id, responsible_body_code, first_answer_at, deadline_at, detected_at"
            " from casework.fct_incidents"
        ).fetchall()
    return {
        row[0]: {"body": row[1], "first_answer_at": row[2], "deadline_at": row[3], "detected_at": row[4]}
        for row in rows
    }


def listed_incidents(html: str) -> set[str]:
    import re

    return set(re.findall(r'data-incident="([^"]+)"', html))


def alert_recipients_of(recipients, body: str) -> set[str]:
    return {r.email for r in recipients if r.alerts and r.body_code == body}


def test_each_new_incident_reaches_its_body_alert_recipients_in_the_next_cycle_once(
    cycles, warehouse, recipients
):
    first, second = cycles["alerts"]
    incidents = incidents_by_id(warehouse)
    alerted = [
        (item.recipient, incident) for item in first + second for incident in listed_incidents(item.html)
    ]
    assert alerted, "no alert was sent"
    for recipient, incident in alerted:
        assert recipient in alert_recipients_of(recipients, incidents[incident]["body"])
    # every incident still unanswered reached each of its body's alert recipients (the refused one
    # excepted), and no (recipient, incident) twice; those answered since may have been alerted too
    expected = {
        (email, incident_id)
        for incident_id, facts in incidents.items()
        if facts["first_answer_at"] is None
        for email in alert_recipients_of(recipients, facts["body"])
        if email != REFUSED
    }
    assert expected <= set(alerted)
    assert len(alerted) == len(set(alerted))
    first_ids = {incident for item in first for incident in listed_incidents(item.html)}
    second_ids = {incident for item in second for incident in listed_incidents(item.html)}
    assert second_ids and not first_ids & second_ids
    assert all(len({item.recipient for item in cycle}) == len(cycle) for cycle in (first, second))
    high = [item for item in first + second if item.message["Importance"] == "high"]
    assert high and all(item.subject.startswith("[ВАЖНО]") for item in high)


def test_a_reminder_goes_once_an_hour_before_the_deadline(cycles, warehouse, mailbox, recipients):
    incidents = incidents_by_id(warehouse)
    due = sorted(
        (facts["deadline_at"], incident_id)
        for incident_id, facts in incidents.items()
        if facts["first_answer_at"] is None
        and facts["deadline_at"]
        and alert_recipients_of(recipients, facts["body"]) - {REFUSED}
    )
    deadline, incident_id = due[len(due) // 2]
    as_of = deadline - timedelta(minutes=30)
    mailbox.clear()
    assert run_alerts(as_of, reminder_working_hours=1.0).incidents["reminder"] > 0
    assert run_alerts(as_of, reminder_working_hours=1.0).letters == 0  # the same moment again: nothing left
    reminded = {(item.recipient, i) for item in mailbox.received for i in listed_incidents(item.html)}
    body = incidents[incident_id]["body"]
    assert {(email, incident_id) for email in alert_recipients_of(recipients, body) - {REFUSED}} <= reminded
    assert len(reminded) == sum(len(listed_incidents(item.html)) for item in mailbox.received)
    for _, reminded_id in reminded:
        assert 0 < working_hours_between(as_of, incidents[reminded_id]["deadline_at"]) <= 1.0


@pytest.fixture(scope="module")
def weekly(cycles, mailbox):
    # Monday's early cycle: the marts are built after the week's end, so the week may be reported.
    monday_cycle = WEEKLY_RUN - timedelta(hours=1)
    dags_test(
        "socmon_transform",
        monday_cycle,
        cycles["env"],
        conf={"as_of_at": monday_cycle.isoformat()},
        log_file=cycles["logs"] / "transform-monday.log",
    )
    mailbox.clear()
    dags_test("socmon_publish_weekly", WEEKLY_RUN, cycles["env"], log_file=cycles["logs"] / "weekly.log")
    return list(mailbox.received)


def test_officers_get_the_reports_attached_and_each_body_its_own_list(weekly, warehouse, recipients):
    incidents = incidents_by_id(warehouse)
    week = [r for r in recipients if "week" in r.periods]
    by_recipient = {item.recipient: item for item in weekly}
    assert len(weekly) == len(by_recipient)  # one letter each
    assert set(by_recipient) == {r.email for r in week} - {REFUSED}
    for recipient in week:
        if recipient.email == REFUSED:
            continue
        letter = by_recipient[recipient.email]
        if recipient.is_officer:
            assert letter.attachments == [
                "socmon_incidents_2026-W48.csv",
                "socmon_incidents_2026-W48.xlsx",
                "socmon_report_2026-W48.html",
            ]
            assert "Доля ответов в срок" in letter.html
        else:
            assert letter.attachments == []
            listed = listed_incidents(letter.html)
            assert all(incidents[i]["body"] == recipient.body_code for i in listed)
        assert "Версия правил" in letter.html and "проверка качества: пройдена" in letter.html
    listed_anywhere = set().union(*(listed_incidents(item.html) for item in weekly))
    assert listed_anywhere, "no body list held an incident"


def test_a_rerun_sends_nothing_and_the_refused_recipient_gets_it_when_the_server_takes_it(
    weekly, mailbox, capsys
):
    mailbox.clear()
    assert socmon(["deliver", "--period", "week", "--date", REPORT_DAY.isoformat()]) == 0
    assert mailbox.received == []  # still refused: nothing else was sent again
    assert "already delivered" in capsys.readouterr().out
    mailbox.refuse.clear()
    assert socmon(["deliver", "--period", "week", "--date", REPORT_DAY.isoformat()]) == 0
    assert [item.recipient for item in mailbox.received] == [REFUSED]
    mailbox.clear()
    assert socmon(["deliver", "--period", "week", "--date", REPORT_DAY.isoformat()]) == 0
    assert mailbox.received == []


def test_a_failed_gate_sends_only_the_hold_notice_to_the_officers(weekly, warehouse, mailbox, recipients):
    with warehouse.connect("admin", autocommit=True) as conn:
        incident_id, status = conn.execute(
            "select incident_id, sla_status from casework.fct_incidents order by incident_id limit 1"
        ).fetchone()
        conn.execute(
            "update casework.fct_incidents set sla_status = 'lost' where incident_id = %s", [incident_id]
        )
    mailbox.clear()
    try:
        assert socmon(["deliver", "--period", "day", "--date", REPORT_DAY.isoformat()]) == 1
        assert socmon(["deliver", "--period", "day", "--date", REPORT_DAY.isoformat()]) == 1
    finally:
        with warehouse.connect("admin", autocommit=True) as conn:
            conn.execute(
                "update casework.fct_incidents set sla_status = %s where incident_id = %s",
                [status, incident_id],
            )
    officers = {r.email for r in recipients if r.is_officer and "day" in r.periods}
    assert sorted(item.recipient for item in mailbox.received) == sorted(officers)  # once each
    for item in mailbox.received:
        assert "задержан" in item.subject and item.attachments == []
        assert "sla_status" in item.html


def test_the_daily_delivery_reaches_every_recipient_of_the_day_once(weekly, mailbox, recipients, capsys):
    mailbox.clear()
    assert socmon(["deliver", "--period", "day", "--date", REPORT_DAY.isoformat()]) == 0
    day = {r.email for r in recipients if "day" in r.periods}
    assert sorted(item.recipient for item in mailbox.received) == sorted(day)
    officer = next(item for item in mailbox.received if item.recipient == "compliance.officer@example.org")
    assert officer.attachments == [
        f"socmon_incidents_{REPORT_DAY}.csv",
        f"socmon_incidents_{REPORT_DAY}.xlsx",
        f"socmon_report_{REPORT_DAY}.html",
    ]
    mailbox.clear()
    capsys.readouterr()
    assert socmon(["deliver", "--period", "day", "--date", REPORT_DAY.isoformat()]) == 0
    assert mailbox.received == []
    assert f"sent 0 letters; {len(day)} already delivered" in capsys.readouterr().out


def test_the_weekly_workbook_lists_the_compliance_changes_since_the_week_before(weekly):
    workbook = openpyxl.load_workbook(settings().out_dir / "2026-W48" / "socmon_incidents_2026-W48.xlsx")
    assert "Изменения за неделю" in workbook.sheetnames
    assert [cell.value for cell in workbook["Изменения за неделю"][1]] == [
        "Ответственный орган",
        "Сеть",
        "Новые нарушения",
        "Устранённые нарушения",
    ]


def test_the_monthly_report_shows_the_rating_zones_and_goes_to_the_officers(weekly, mailbox, recipients):
    month = report_period("month", REPORT_DAY)
    files = export_period("month", REPORT_DAY)
    assert [path.name for path in files] == ["socmon_monthly_2026-11.xlsx", "socmon_monthly_2026-11.html"]
    workbook = openpyxl.load_workbook(files[0])
    assert workbook.sheetnames == ["Рейтинг", "Муниципалитеты", "Динамика"]
    zones = [row[8] for row in workbook["Рейтинг"].iter_rows(min_row=5, values_only=True)]
    assert zones and set(zones) <= {"зелёная", "жёлтая", "красная", "не оценивается"}
    assert set(zones) & {"зелёная", "жёлтая", "красная"}, "no body was rated"
    trend = list(workbook["Динамика"].iter_rows(min_row=2, max_row=31, values_only=True))
    assert len(trend) == 30 and sum(row[1] for row in trend) > 0
    html = files[1].read_text(encoding="utf-8")
    assert 'class="zone zone-' in html and "<svg" in html and 'lang="ru"' in html
    mailbox.clear()
    deliver_reports(month, files)
    officers = {r.email for r in recipients if r.is_officer and "month" in r.periods}
    assert {item.recipient for item in mailbox.received} == officers
    assert all(item.attachments == sorted(p.name for p in files) for item in mailbox.received)
