"""The pieces of delivery that need no server: periods, the working-hours clock, the registry, excerpts."""

import csv
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from socmon.calendar import working_hours_between
from socmon.config import settings
from socmon.period import previous_period, report_period
from socmon.reports.casework import excerpt
from socmon.reports.mail import message_id
from socmon.reports.recipients import RegistryError, load_recipients
from socmon.reports.templating import render

MOSCOW = ZoneInfo("Europe/Moscow")


def test_a_scheduled_run_reports_yesterday_the_previous_iso_week_and_the_previous_month():
    assert previous_period("day", date(2026, 3, 1)).key == "2026-02-28"
    week = previous_period("week", date(2026, 11, 30))  # a Monday
    assert (week.key, week.first_day, week.last_day) == ("2026-W48", date(2026, 11, 23), date(2026, 11, 29))
    month = previous_period("month", date(2026, 3, 1))
    assert (month.key, month.first_day, month.last_day) == ("2026-02", date(2026, 2, 1), date(2026, 2, 28))
    assert report_period("month", date(2026, 12, 31)).last_day == date(2026, 12, 31)


def test_working_hours_skip_nights_breaks_weekends_and_holidays():
    friday_evening = datetime(2026, 12, 4, 16, 30, tzinfo=MOSCOW)  # Friday ends at 17:00
    assert working_hours_between(friday_evening, datetime(2026, 12, 7, 9, 30, tzinfo=MOSCOW)) == 1.0
    lunch = working_hours_between(
        datetime(2026, 12, 3, 12, tzinfo=MOSCOW), datetime(2026, 12, 3, 14, tzinfo=MOSCOW)
    )
    assert lunch == pytest.approx(2 - 50 / 60)
    new_year = working_hours_between(
        datetime(2026, 12, 31, 18, tzinfo=MOSCOW), datetime(2027, 1, 8, 23, tzinfo=MOSCOW)
    )
    assert new_year == 0


def test_the_registry_lists_every_body_and_rejects_a_curator_without_one(tmp_path: Path):
    recipients = load_recipients()
    with (settings().dbt_project_dir / "seeds/domain/executive_bodies.csv").open(encoding="utf-8") as handle:
        bodies = {row["code"] for row in csv.DictReader(handle)}
    assert {r.body_code for r in recipients if not r.is_officer} == bodies
    assert any(r.is_officer and {"day", "week", "month"} <= r.periods for r in recipients)
    assert all(r.email.endswith("@example.org") for r in recipients)
    broken = tmp_path / "report_recipients.csv"
    broken.write_text("email,name,scope,body_code,periods,alerts\nx@example.org,X,body,,day,true\n")
    with pytest.raises(RegistryError, match=r"report_recipients\.csv:2"):
        load_recipients(broken)


def test_an_excerpt_is_one_line_cut_at_a_word():
    assert excerpt("Яма\nна  дороге") == "Яма на дороге"
    cut = excerpt("слово " * 100, limit=20)
    assert cut.endswith("…") and len(cut) <= 21 and "  " not in cut


def test_the_same_letter_keeps_its_message_id():
    assert message_id("a@example.org", "day", "2026-11-26", "summary") == message_id(
        "a@example.org", "day", "2026-11-26", "summary"
    )
    assert message_id("a@example.org", "day", "2026-11-26", "summary") != message_id(
        "b@example.org", "day", "2026-11-26", "summary"
    )


def test_templates_escape_what_citizens_wrote():
    html = render(
        "hold_notice.html.j2",
        subject="s",
        period_title="за 26.11.2026",
        failures=["<script>alert(1)</script>"],
        provenance=type(
            "P", (), {"rule_version": "v1", "data_cutoff": None, "gate_run": "—", "made_at": None}
        )(),
    )
    assert "<script>" not in html and "&lt;script&gt;" in html
