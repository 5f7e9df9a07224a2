"""The working calendar seed against dates checked by hand in the published production calendars."""

from __future__ import annotations

import datetime as dt

import pytest

from socmon import calendar

D = dt.date


@pytest.fixture(scope="module")
def days() -> dict[dt.date, calendar.CalendarDay]:
    overrides = calendar.read_overrides(calendar.calendar_dir() / "calendar_overrides.csv")
    return {day.calendar_date: day for day in calendar.build_calendar(overrides=overrides)}


def _dates(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]


def _row(day: calendar.CalendarDay) -> dict[str, str]:
    return day.as_row()


def test_covers_2024_to_2027_one_row_per_date(days):
    assert min(days) == D(2024, 1, 1)
    assert max(days) == D(2027, 12, 31)
    assert len(days) == (D(2027, 12, 31) - D(2024, 1, 1)).days + 1


@pytest.mark.parametrize(
    "first,last",
    [
        (D(2025, 1, 1), D(2025, 1, 8)),
        (D(2025, 5, 1), D(2025, 5, 4)),
        (D(2025, 5, 8), D(2025, 5, 11)),
        (D(2026, 1, 1), D(2026, 1, 11)),
        (D(2026, 5, 1), D(2026, 5, 3)),
        (D(2026, 5, 9), D(2026, 5, 11)),
    ],
)
def test_days_off(days, first, last):
    for date in _dates(first, last):
        assert not days[date].is_working_day, date
        assert _row(days[date])["work_start"] == "", date


def test_the_days_around_the_days_off_are_working(days):
    for date in (D(2025, 1, 9), D(2025, 5, 5), D(2025, 5, 12), D(2026, 1, 12), D(2026, 5, 4), D(2026, 5, 12)):
        assert days[date].is_working_day, date


def test_transferred_working_saturday(days):
    saturday = days[D(2025, 11, 1)]
    assert saturday.calendar_date.weekday() == 5
    assert saturday.is_working_day
    assert saturday.day_kind == "working_weekend"
    assert not days[D(2025, 11, 3)].is_working_day  # the day off it was swapped with
    assert days[D(2025, 11, 4)].day_kind == "holiday"


def test_working_saturday_works_monday_hours_shortened_before_the_holiday(days):
    row = _row(days[D(2025, 11, 1)])
    assert (row["work_start"], row["break_start"], row["break_end"], row["work_end"]) == (
        "09:00:00",
        "13:00:00",
        "13:50:00",
        "17:00:00",
    )
    assert row["is_shortened"] == "true"


def test_pre_holiday_day_is_one_hour_shorter(days):
    day = days[D(2025, 4, 30)]  # Wednesday before 1 May
    assert day.is_shortened
    assert day.day_kind == "pre_holiday"
    assert _row(day)["work_end"] == "17:00:00"
    assert _row(days[D(2026, 5, 8)])["work_end"] == "16:00:00"  # a Friday before 9 May


def test_friday_before_a_monday_holiday_is_not_shortened(days):
    # 2026-02-23 is a Monday: Friday 20 Feb does not immediately precede it.
    assert not days[D(2026, 2, 20)].is_shortened
    assert not days[D(2024, 12, 28)].is_shortened  # override: the Saturday stands for Monday 30 Dec


def test_shortened_days_of_2026(days):
    shortened = sorted(d for d, day in days.items() if d.year == 2026 and day.is_shortened)
    assert shortened == [D(2026, 4, 30), D(2026, 5, 8), D(2026, 6, 11), D(2026, 11, 3)]


def test_ordinary_friday_and_monday_hours(days):
    friday = _row(days[D(2026, 11, 27)])
    assert friday["is_working_day"] == "true"
    assert (friday["work_start"], friday["break_start"], friday["break_end"], friday["work_end"]) == (
        "09:00:00",
        "13:00:00",
        "13:40:00",
        "17:00:00",
    )
    monday = _row(days[D(2026, 11, 30)])
    assert (monday["work_start"], monday["break_start"], monday["break_end"], monday["work_end"]) == (
        "09:00:00",
        "13:00:00",
        "13:50:00",
        "18:00:00",
    )


def test_day_kinds(days):
    assert days[D(2026, 1, 5)].day_kind == "holiday"
    assert days[D(2026, 1, 9)].day_kind == "day_off"  # moved from Saturday 3 Jan
    assert days[D(2026, 11, 28)].day_kind == "weekend"
    assert days[D(2026, 11, 26)].day_kind == "workday"


@pytest.mark.parametrize("year,working_days,hours", [(2024, 248, 1979), (2025, 247, 1972), (2026, 247, 1972)])
def test_yearly_norms_match_the_production_calendar(days, year, working_days, hours):
    working = [day for d, day in days.items() if d.year == year and day.is_working_day]
    assert len(working) == working_days
    assert sum(7 if day.is_shortened else 8 for day in working) == hours


def test_committed_csv_equals_a_fresh_generation():
    committed = (calendar.calendar_dir() / "working_calendar.csv").read_text(encoding="utf-8")
    assert committed == calendar.generate(), "run: python -m socmon.calendar"


def test_overrides_are_applied_last(tmp_path):
    (tmp_path / "calendar_overrides.csv").write_text(
        "calendar_date,is_working_day,is_shortened,note\n2026-11-27,false,,test\n2026-11-26,,true,test\n",
        encoding="utf-8",
    )
    text = calendar.generate(tmp_path)
    assert "2026-11-27,false,false,,,,,day_off\n" in text
    assert "2026-11-26,true,true,09:00:00,17:00:00,13:00:00,13:50:00,pre_holiday\n" in text


MSK = calendar.MOSCOW


@pytest.mark.parametrize(
    ("start", "minutes", "expected"),
    [
        # Tuesday 24.11.2026: 9–13, lunch 13–13:50, 13:50–18 (Moscow)
        (dt.datetime(2026, 11, 24, 12, 0, tzinfo=MSK), 90, dt.datetime(2026, 11, 24, 14, 20, tzinfo=MSK)),
        (dt.datetime(2026, 11, 24, 7, 0, tzinfo=MSK), 0, dt.datetime(2026, 11, 24, 9, 0, tzinfo=MSK)),
        # Friday evening: the rest goes to Monday morning
        (dt.datetime(2026, 11, 27, 16, 30, tzinfo=MSK), 60, dt.datetime(2026, 11, 30, 9, 30, tzinfo=MSK)),
    ],
)
def test_adding_working_minutes_skips_the_lunch_break_nights_and_weekends(start, minutes, expected):
    assert calendar.add_working_minutes(start, minutes) == expected


def test_adding_working_minutes_is_the_inverse_of_counting_them():
    start = dt.datetime(2026, 12, 29, 15, 7, tzinfo=MSK)  # around the New Year holidays
    for minutes in (1, 45, 480, 1000, 3000):
        end = calendar.add_working_minutes(start, minutes)
        assert calendar.working_hours_between(start, end) * 60 == pytest.approx(minutes)
