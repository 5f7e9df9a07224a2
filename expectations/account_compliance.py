"""Expectations for marts.mart_account_compliance_daily: one row per body × network × day (issue #5).

The publish gate checks that every registered body (the administration and each executive body of
`domain/executive_bodies.csv`) has a row for each required network (dbt var `compliance_networks`) on
every day the mart covers, that scores lie in 0..100, and that every code is in its reference.
"""

from __future__ import annotations

import csv
from functools import cache
from typing import TYPE_CHECKING

import great_expectations as gx
import great_expectations.expectations as gxe
import yaml

from socmon.config import settings

from .reference_codes import reference_codes

if TYPE_CHECKING:
    from socmon.period import ReportPeriod

SUITE_NAME = "mart_account_compliance_daily"
CHECK_COLUMNS = tuple(f"acc{number:02d}" for number in range(1, 11))
STATUSES = ("passed", "failed", "not_evaluated")
TIERS = ("administration", "executive_body")
KEY_COLUMNS = ("compliance_date", "body_code", "platform")
CONTRACT_COLUMNS = (
    *KEY_COLUMNS,
    "body_name_ru",
    "tier",
    "account_key",
    "account_score_pct",
    "body_score_pct",
    "is_compliant",
    "failed_check_codes",
    "not_evaluated_check_codes",
    "not_applicable_check_codes",
    *(
        f"{column}_{part}"
        for column in CHECK_COLUMNS
        for part in ("status", "is_passed", "value", "threshold", "explanation_ru")
    ),
)
CODE_LIST_COLUMNS = ("failed_check_codes", "not_evaluated_check_codes", "not_applicable_check_codes")
SCORE_COLUMNS = ("account_score_pct", "body_score_pct")


@cache
def check_codes() -> tuple[str, ...]:
    """ACC-01..ACC-10, as `dbt_project/seeds/rules/compliance_checks.csv` lists them."""
    path = settings().dbt_project_dir / "seeds" / "rules" / "compliance_checks.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        return tuple(sorted(row["code"] for row in csv.DictReader(handle)))


@cache
def required_networks() -> tuple[str, ...]:
    """The dbt var `compliance_networks` of dbt_project.yml."""
    project = yaml.safe_load((settings().dbt_project_dir / "dbt_project.yml").read_text(encoding="utf-8"))
    return tuple(project["vars"]["compliance_networks"])


def _sql_list(values: tuple[str, ...]) -> str:
    return ", ".join("'" + value.replace("'", "''") + "'" for value in values)


def missing_rows_query(period: ReportPeriod | None = None) -> str:
    """Every body × network × day that has no row, from the mart's first day to its last day.

    For a period: to the period's last day, from its first day or the mart's first day if later (the
    mart starts with the first account metadata), so a mart that ends before the period fails.
    An empty mart expects nothing (the reports say there is no account data).
    """
    if period is None:
        bounds = "select min(compliance_date), max(compliance_date) from mart"
    else:
        first, last = period.first_day.isoformat(), period.last_day.isoformat()
        bounds = (
            f"select greatest(date '{first}', min(compliance_date)), date '{last}' from mart"
            " having count(*) > 0"  # an empty mart (no account data yet) expects no day
        )
    return f"""
        -- the query joins (cross join below), so GX leaves the batch unaliased for us to name
        with mart as (
            select * from {{batch}} as mart_rows
        ),
        bounds (first_day, last_day) as (
            {bounds}
        ),
        days as (
            select generate_series(first_day, last_day, interval '1 day')::date as day
            from bounds
        ),
        expected as (
            select days.day, bodies.body_code, networks.platform
            from days
            cross join unnest(array[{_sql_list(reference_codes("executive_bodies"))}]) as bodies (body_code)
            cross join unnest(array[{_sql_list(required_networks())}]) as networks (platform)
        )
        select expected.day, expected.body_code, expected.platform
        from expected
        where not exists (
            select 1 from mart
            where mart.compliance_date = expected.day
                and mart.body_code = expected.body_code
                and mart.platform = expected.platform
        )
    """


def build_period_suite(period: ReportPeriod) -> gx.ExpectationSuite:
    """The rows of a reported period: a row for every registered body and required network on each day."""
    expectations: list[gxe.Expectation] = [
        gxe.UnexpectedRowsExpectation(
            unexpected_rows_query=missing_rows_query(period),
            description=(
                f"every registered body has a row for each required network on each day of {period.key}"
            ),
        ),
    ]
    return gx.ExpectationSuite(name=f"{SUITE_NAME} {period.key}", expectations=expectations)


def build_suite() -> gx.ExpectationSuite:
    """Completeness of body × network × day, keys, scores in range, statuses and codes in their references."""
    codes = "|".join(check_codes())
    code_list_regex = rf"^({codes})(, ({codes}))*$"
    expectations: list[gxe.Expectation] = [
        gxe.ExpectTableColumnsToMatchSet(column_set=list(CONTRACT_COLUMNS), exact_match=False),
        gxe.ExpectCompoundColumnsToBeUnique(column_list=list(KEY_COLUMNS)),
        gxe.UnexpectedRowsExpectation(
            unexpected_rows_query=missing_rows_query(),
            description="every registered body has a row for each required network on each day",
        ),
        *(gxe.ExpectColumnValuesToNotBeNull(column=column) for column in (*KEY_COLUMNS, *SCORE_COLUMNS)),
        gxe.ExpectColumnValuesToBeInSet(
            column="body_code", value_set=list(reference_codes("executive_bodies"))
        ),
        gxe.ExpectColumnValuesToBeInSet(column="platform", value_set=list(required_networks())),
        gxe.ExpectColumnValuesToBeInSet(column="tier", value_set=list(TIERS)),
        *(
            gxe.ExpectColumnValuesToBeBetween(column=column, min_value=0, max_value=100)
            for column in SCORE_COLUMNS
        ),
        *(gxe.ExpectColumnValuesToNotBeNull(column=f"{column}_status") for column in CHECK_COLUMNS),
        *(
            gxe.ExpectColumnValuesToBeInSet(column=f"{column}_status", value_set=list(STATUSES))
            for column in CHECK_COLUMNS
        ),
        *(
            gxe.ExpectColumnValuesToMatchRegex(column=column, regex=code_list_regex)
            for column in CODE_LIST_COLUMNS
        ),
    ]
    return gx.ExpectationSuite(name=SUITE_NAME, expectations=expectations)
