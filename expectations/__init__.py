"""The suites of the quality gate, as code (GX 1.x).

Each entry of SUITES names the table a suite checks. A new suite is one module here plus one entry.
An entry may add a period suite: the checks of the rows of a period being exported (e.g. that each day
of it is complete); the gate runs it beside the whole-table suite when it is asked about a period.
The gate loads this package by path (it is not part of the socmon package), and only when it runs,
because importing Great Expectations takes seconds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from . import account_compliance, fct_incidents

if TYPE_CHECKING:
    from great_expectations import ExpectationSuite

    from socmon.period import ReportPeriod


@dataclass(frozen=True)
class SuiteEntry:
    """One suite and the table it checks."""

    table: str
    build_suite: Callable[[], ExpectationSuite]
    schema: str | None = None  # None: the schema the gate is asked to check (marts by default)
    # the table identifies citizens: it is in casework beside the marts (socmon.reports.casework)
    casework: bool = False
    build_period_suite: Callable[[ReportPeriod], ExpectationSuite] | None = None


SUITES: tuple[SuiteEntry, ...] = (
    SuiteEntry(
        table="fct_incidents",
        casework=True,
        build_suite=fct_incidents.build_suite,
        build_period_suite=fct_incidents.build_period_suite,
    ),
    SuiteEntry(
        table="mart_account_compliance_daily",
        build_suite=account_compliance.build_suite,
        build_period_suite=account_compliance.build_period_suite,
    ),
)
