"""The period a report covers: a calendar day, an ISO week (Mon–Sun) or a calendar month, in Moscow time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from socmon.timezone import MOSCOW

__all__ = ["MOSCOW", "PERIODS", "ReportPeriod", "previous_period", "report_period"]

PERIODS = ("day", "week", "month")


@dataclass(frozen=True)
class ReportPeriod:
    """Days `first_day`..`last_day` inclusive; `starts_at`/`ends_at` bound them in Moscow time."""

    kind: str
    first_day: date
    last_day: date

    @property
    def key(self) -> str:
        """`2026-03-15` for a day, `2026-W11` (ISO year and week) for a week, `2026-03` for a month."""
        if self.kind == "day":
            return self.first_day.isoformat()
        if self.kind == "month":
            return self.first_day.strftime("%Y-%m")
        iso = self.first_day.isocalendar()
        return f"{iso.year}-W{iso.week:02d}"

    @property
    def starts_at(self) -> datetime:
        return datetime.combine(self.first_day, time(), tzinfo=MOSCOW)

    @property
    def ends_at(self) -> datetime:
        """Exclusive: midnight after the last day."""
        return datetime.combine(self.last_day + timedelta(days=1), time(), tzinfo=MOSCOW)


def report_period(period: str, day: date) -> ReportPeriod:
    """The day itself, or the ISO week (Monday to Sunday) or calendar month that contains it."""
    day = date(day.year, day.month, day.day)  # a plain date, even from a datetime or pendulum Date
    if period == "day":
        return ReportPeriod("day", day, day)
    if period == "week":
        monday = day - timedelta(days=day.weekday())
        return ReportPeriod("week", monday, monday + timedelta(days=6))
    if period == "month":
        first = day.replace(day=1)
        following = (first + timedelta(days=32)).replace(day=1)
        return ReportPeriod("month", first, following - timedelta(days=1))
    raise ValueError(f"unknown period {period!r}: expected one of {', '.join(PERIODS)}")


def previous_period(period: str, run_day: date) -> ReportPeriod:
    """What a scheduled run on `run_day` reports: yesterday, the previous ISO week, the previous month."""
    if period == "day":
        return report_period("day", run_day - timedelta(days=1))
    if period == "week":
        return report_period("week", run_day - timedelta(days=run_day.weekday() + 7))
    if period == "month":
        return report_period("month", run_day.replace(day=1) - timedelta(days=1))
    raise ValueError(f"unknown period {period!r}: expected one of {', '.join(PERIODS)}")
