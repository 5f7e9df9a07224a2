"""Expectations for marts.fct_incidents: one row per incident (contract in DESIGN.md)."""

from __future__ import annotations

import great_expectations as gx
import great_expectations.expectations as gxe

from .reference_codes import reference_codes

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


def build_suite() -> gx.ExpectationSuite:
    """The fct_incidents suite: keys, closed vocabularies, reference codes and the deadline order."""
    expectations: list[gxe.Expectation] = [
        gxe.ExpectTableRowCountToBeBetween(min_value=0),
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
