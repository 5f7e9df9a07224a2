"""Expectations for casework.fct_incidents: one row per incident (contract in docs/ARCHITECTURE.md).

The whole table: keys, closed vocabularies, reference codes, deadlines, statuses that agree with the
answer and deadline times, and one incident for each message fct_messages_classified calls one. A
reported period: every message of the period classified as an incident has its row.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import great_expectations as gx
import great_expectations.expectations as gxe

from .reference_codes import reference_codes

if TYPE_CHECKING:
    from socmon.period import ReportPeriod

SUITE_NAME = "fct_incidents"

CONTRACT_COLUMNS = (
    "incident_id",
    "platform",
    "message_url",
    "source_message_key",
    "category_code",
    "responsible_body_code",
    "municipality_code",
    "importance",
    "published_at",
    "detected_at",
    "deadline_at",
    "first_answer_at",
    "final_answer_at",
    "sla_status",
    "rule_version",
    "clock_start_at",
)
SOURCE_MESSAGE_KEY_REGEX = (
    r"^(vk:(wall|comment)-?\d+_\d+(_\d+)?|telegram:\d+/\d+|ok:(topic/\d+|comment/\d+/\w+))$"
)
PLATFORMS = ("vk", "ok", "telegram")
IMPORTANCE_LEVELS = ("high", "normal")
SLA_STATUSES = ("open", "answered_on_time", "answered_late", "overdue")
NOT_NULL_COLUMNS = (
    "incident_id",
    "platform",
    "source_message_key",
    "importance",
    "published_at",
    "detected_at",
    "deadline_at",
    "clock_start_at",
    "sla_status",
)


# the status follows from the first answer and the deadline (int_incidents_evaluated)
STATUS_DISAGREES_QUERY = """
    with incidents as (select * from {batch})
    select incident_id, sla_status, first_answer_at, deadline_at
    from incidents
    where case sla_status
        when 'answered_on_time' then first_answer_at is null or first_answer_at > deadline_at
        when 'answered_late' then first_answer_at is null or first_answer_at <= deadline_at
        else first_answer_at is not null
    end
"""


def incidents_without_rows_query(period: ReportPeriod | None = None) -> str:
    """Messages fct_messages_classified (same schema) calls incidents that have no row, and back."""
    within = ""
    if period is not None:
        within = (
            f"and messages.published_at >= '{period.starts_at.isoformat()}'"
            f" and messages.published_at < '{period.ends_at.isoformat()}'"
        )
    # {batch} is a table or an aliased subquery depending on GX's mood: name it once, in a CTE
    without_row = f"""
        with incidents as (select * from {{batch}})
        select messages.source_message_key, 'an incident in fct_messages_classified, no row here' as problem
        from fct_messages_classified as messages
        where messages.is_incident {within}
            and not exists (
                select 1 from incidents
                where incidents.source_message_key = messages.source_message_key
            )
    """
    if period is not None:
        return without_row
    return f"""{without_row}
        union all
        select incidents.source_message_key, 'no incident in fct_messages_classified' as problem
        from incidents
        where not exists (
            select 1 from fct_messages_classified as messages
            where messages.source_message_key = incidents.source_message_key and messages.is_incident
        )
    """


def build_period_suite(period: ReportPeriod) -> gx.ExpectationSuite:
    """The rows of a reported period: every incident published in it is there."""
    expectations: list[gxe.Expectation] = [
        gxe.UnexpectedRowsExpectation(
            unexpected_rows_query=incidents_without_rows_query(period),
            description=f"every message published on {period.key} and classified as an incident has its row",
        ),
    ]
    return gx.ExpectationSuite(name=f"{SUITE_NAME} {period.key}", expectations=expectations)


def build_suite() -> gx.ExpectationSuite:
    """The fct_incidents suite: keys, closed vocabularies, reference codes, deadlines and statuses."""
    expectations: list[gxe.Expectation] = [
        gxe.UnexpectedRowsExpectation(
            unexpected_rows_query=incidents_without_rows_query(),
            description="one incident for each message fct_messages_classified calls an incident",
        ),
        gxe.UnexpectedRowsExpectation(
            unexpected_rows_query=STATUS_DISAGREES_QUERY,
            description="sla_status agrees with first_answer_at and deadline_at",
        ),
        gxe.ExpectTableColumnsToMatchSet(column_set=list(CONTRACT_COLUMNS), exact_match=False),
        gxe.ExpectColumnValuesToBeUnique(column="incident_id"),
        *(gxe.ExpectColumnValuesToNotBeNull(column=column) for column in NOT_NULL_COLUMNS),
        gxe.ExpectColumnValuesToMatchRegex(column="source_message_key", regex=SOURCE_MESSAGE_KEY_REGEX),
        gxe.ExpectColumnValuesToBeInSet(column="platform", value_set=list(PLATFORMS)),
        gxe.ExpectColumnValuesToBeInSet(column="importance", value_set=list(IMPORTANCE_LEVELS)),
        gxe.ExpectColumnValuesToBeInSet(column="sla_status", value_set=list(SLA_STATUSES)),
        gxe.ExpectColumnValuesToBeInSet(
            column="category_code", value_set=list(reference_codes("categories"))
        ),
        gxe.ExpectColumnValuesToBeInSet(
            column="responsible_body_code", value_set=list(reference_codes("executive_bodies"))
        ),
        gxe.ExpectColumnValuesToBeInSet(
            column="municipality_code", value_set=list(reference_codes("municipalities"))
        ),
        # the clock starts at detection, or at publication for a backfilled message (REGULATION.md)
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="deadline_at", column_B="clock_start_at", or_equal=True
        ),
    ]
    return gx.ExpectationSuite(name=SUITE_NAME, expectations=expectations)
