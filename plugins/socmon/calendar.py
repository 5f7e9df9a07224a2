"""The working calendar seed for SLA deadlines: `python -m socmon.calendar` (re)writes
`dbt_project/seeds/calendar/working_calendar.csv`, one row per date of 2024-2027.

Rules (domain/REGULATION.md, Labour Code art. 95 and 112), Europe/Moscow local time:
- working days and days off come from `holidays.RU`, which knows the Government's transfers;
- Mon-Thu 09:00-18:00 with a break 13:00-13:50; Fri 09:00-17:00 with a break 13:00-13:40;
- a transferred working Saturday or Sunday works Monday's hours (as the decrees' "work as on Monday");
- a pre-holiday working day (the working day immediately before a non-working statutory holiday)
  ends one hour earlier;
- `calendar_overrides.csv` (hand-checked against the published production calendars) is applied last.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import holidays

from socmon.constants import MOSCOW

FIRST_YEAR = 2024
LAST_YEAR = 2027
COLUMNS = (
    "calendar_date",
    "is_working_day",
    "is_shortened",
    "work_start",
    "work_end",
    "break_start",
    "break_end",
    "day_kind",
)
# Non-working public holidays, Labour Code art. 112 (month, day).
STATUTORY_HOLIDAYS = frozenset(
    [(1, day) for day in range(1, 9)] + [(2, 23), (3, 8), (5, 1), (5, 9), (6, 12), (11, 4)]
)


@dataclass(frozen=True)
class Hours:
    work_start: dt.time
    work_end: dt.time
    break_start: dt.time
    break_end: dt.time


MONDAY_TO_THURSDAY = Hours(dt.time(9), dt.time(18), dt.time(13), dt.time(13, 50))
FRIDAY = Hours(dt.time(9), dt.time(17), dt.time(13), dt.time(13, 40))


@dataclass(frozen=True)
class CalendarDay:
    calendar_date: dt.date
    is_working_day: bool
    is_shortened: bool
    day_kind: str  # workday, pre_holiday, working_weekend, weekend, holiday, day_off

    @property
    def hours(self) -> Hours | None:
        if not self.is_working_day:
            return None
        base = FRIDAY if self.calendar_date.weekday() == 4 else MONDAY_TO_THURSDAY
        if not self.is_shortened:
            return base
        end = dt.datetime.combine(self.calendar_date, base.work_end) - dt.timedelta(hours=1)
        return Hours(base.work_start, end.time(), base.break_start, base.break_end)

    def as_row(self) -> dict[str, str]:
        hours = self.hours

        def fmt(value: dt.time | None) -> str:
            return value.strftime("%H:%M:%S") if value else ""

        return {
            "calendar_date": self.calendar_date.isoformat(),
            "is_working_day": str(self.is_working_day).lower(),
            "is_shortened": str(self.is_shortened).lower(),
            "work_start": fmt(hours.work_start if hours else None),
            "work_end": fmt(hours.work_end if hours else None),
            "break_start": fmt(hours.break_start if hours else None),
            "break_end": fmt(hours.break_end if hours else None),
            "day_kind": self.day_kind,
        }


@dataclass(frozen=True)
class Override:
    is_working_day: bool | None
    is_shortened: bool | None
    note: str


def is_statutory_holiday(day: dt.date) -> bool:
    return (day.month, day.day) in STATUTORY_HOLIDAYS


def _day_kind(day: dt.date, is_working: bool, is_shortened: bool) -> str:
    is_weekend = day.weekday() >= 5
    if is_working:
        if is_weekend:
            return "working_weekend"
        return "pre_holiday" if is_shortened else "workday"
    if is_statutory_holiday(day):
        return "holiday"
    return "weekend" if is_weekend else "day_off"


def build_calendar(
    years: Sequence[int] = tuple(range(FIRST_YEAR, LAST_YEAR + 1)),
    overrides: Mapping[dt.date, Override] | None = None,
) -> list[CalendarDay]:
    """One CalendarDay per date of the given (consecutive) years."""
    official = holidays.RU(years=range(min(years), max(years) + 2))  # +1 year: the day after Dec 31
    first, last = dt.date(min(years), 1, 1), dt.date(max(years), 12, 31)
    days: list[CalendarDay] = []
    day = first
    while day <= last:
        is_working = bool(official.is_working_day(day))
        next_day = day + dt.timedelta(days=1)
        is_shortened = is_working and is_statutory_holiday(next_day) and next_day in official
        override = (overrides or {}).get(day)
        if override is not None:
            if override.is_working_day is not None:
                is_working = override.is_working_day
            if override.is_shortened is not None:
                is_shortened = override.is_shortened
            is_shortened = is_shortened and is_working
        days.append(CalendarDay(day, is_working, is_shortened, _day_kind(day, is_working, is_shortened)))
        day = next_day
    return days


def _optional_bool(text: str) -> bool | None:
    text = text.strip().lower()
    if not text:
        return None
    if text in {"true", "false"}:
        return text == "true"
    raise ValueError(f"expected true, false or nothing, got {text!r}")


def read_overrides(path: Path) -> dict[dt.date, Override]:
    """calendar_overrides.csv: calendar_date, is_working_day, is_shortened, note (blank = keep derived)."""
    with path.open(encoding="utf-8", newline="") as handle:
        return {
            dt.date.fromisoformat(row["calendar_date"]): Override(
                _optional_bool(row["is_working_day"]), _optional_bool(row["is_shortened"]), row["note"]
            )
            for row in csv.DictReader(handle)
        }


def render_csv(days: Iterable[CalendarDay]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(day.as_row() for day in days)
    return buffer.getvalue()


def calendar_dir() -> Path:
    from socmon.config import settings

    return settings().dbt_project_dir / "seeds" / "calendar"


def generate(directory: Path | None = None) -> str:
    """The CSV text for the committed years, with the overrides in `directory` applied."""
    directory = directory or calendar_dir()
    return render_csv(build_calendar(overrides=read_overrides(directory / "calendar_overrides.csv")))


@lru_cache(maxsize=1)
def working_days() -> dict[dt.date, CalendarDay]:
    """The committed working calendar (the seed dbt computes deadlines from), by date."""
    days = {}
    with (calendar_dir() / "working_calendar.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            day = dt.date.fromisoformat(row["calendar_date"])
            days[day] = CalendarDay(
                day, row["is_working_day"] == "true", row["is_shortened"] == "true", row["day_kind"]
            )
    return days


def working_hours_between(start: dt.datetime, end: dt.datetime) -> float:
    """Working hours (Moscow working time, breaks left out) from `start` to `end`; 0 when end <= start."""
    if end <= start:
        return 0.0
    calendar = working_days()
    start, end = start.astimezone(MOSCOW), end.astimezone(MOSCOW)
    seconds = 0.0
    day = start.date()
    while day <= end.date():
        entry = calendar.get(day)
        hours = entry.hours if entry else None
        if hours:
            for opens, closes in ((hours.work_start, hours.break_start), (hours.break_end, hours.work_end)):
                lo = max(start, dt.datetime.combine(day, opens, MOSCOW))
                hi = min(end, dt.datetime.combine(day, closes, MOSCOW))
                seconds += max(0.0, (hi - lo).total_seconds())
        day += dt.timedelta(days=1)
    return seconds / 3600


def add_working_minutes(moment: dt.datetime, minutes: float) -> dt.datetime:
    """The moment `minutes` of working time after `moment`: the inverse of `working_hours_between`, over
    the same committed calendar (Moscow hours, the lunch break off). The sandbox answers on this clock, so
    its "on time" is production's."""
    calendar = working_days()
    at, remaining = moment.astimezone(MOSCOW), float(minutes)
    while True:
        day = at.date()
        if day not in calendar:
            raise ValueError(f"{day} is outside the working calendar ({FIRST_YEAR}-{LAST_YEAR})")
        hours = calendar[day].hours
        if hours:
            for opens, closes in ((hours.work_start, hours.break_start), (hours.break_end, hours.work_end)):
                begin = max(at, dt.datetime.combine(day, opens, MOSCOW))
                available = (dt.datetime.combine(day, closes, MOSCOW) - begin).total_seconds() / 60
                if available <= 0:
                    continue
                if remaining <= available:
                    return begin + dt.timedelta(minutes=remaining)
                remaining -= available
        at = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), MOSCOW)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m socmon.calendar", description=__doc__.split("\n")[0])
    parser.add_argument("--dir", type=Path, default=None, help="the seeds/calendar folder")
    parser.add_argument("--check", action="store_true", help="exit 1 if the committed CSV is stale")
    args = parser.parse_args(argv)
    directory = args.dir or calendar_dir()
    target = directory / "working_calendar.csv"
    text = generate(directory)
    if args.check:
        current = target.read_text(encoding="utf-8") if target.exists() else ""
        if current != text:
            print(f"{target} is stale: run python -m socmon.calendar")
            return 1
        print(f"{target} is up to date")
        return 0
    target.write_text(text, encoding="utf-8")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
