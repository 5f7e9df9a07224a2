"""Moved to `socmon.period` (quality checks use it too, and quality must not import reports)."""

from socmon.period import MOSCOW, PERIODS, ReportPeriod, previous_period, report_period

__all__ = ["MOSCOW", "PERIODS", "ReportPeriod", "previous_period", "report_period"]
