"""The gate's verdict, and one readable line per failed expectation."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

MAX_VALUES_SHOWN = 10


@dataclass(frozen=True)
class GateResult:
    """What the gate found: success, one line per failure, and how much it checked."""

    success: bool
    failures: list[str] = field(default_factory=list)
    expectations: int = 0
    tables: int = 0
    period: str | None = None  # e.g. "day 2026-03-17" when the gate checked a period for an export
    quarantined: dict[str, int] = field(default_factory=dict)  # records left out, by stage (loader, staging)

    def summary(self) -> str:
        """One line per failure (after a line naming the period, if any), or «gate passed: …»; then what
        was quarantined, which the gate counts but does not fail on (bad input must not stop reports)."""
        scope = f" for {self.period}" if self.period else ""
        if self.success:
            lines = [f"gate passed{scope}: {self.expectations} expectations on {self.tables} tables"]
        else:
            lines = [*([f"gate failed for {self.period}:"] if self.period else []), *self.failures]
        if any(self.quarantined.values()):
            counts = ", ".join(f"{count} by {stage}" for stage, count in sorted(self.quarantined.items()))
            lines.append(f"quarantined: {counts} (socmon quarantine list)")
        return "\n".join(lines)


class GateFailed(RuntimeError):
    """Raised when an action must not run because the gate failed; carries the result."""

    def __init__(self, result: GateResult) -> None:
        scope = f" for {result.period}" if result.period else ""
        failures = "\n".join(result.failures)
        super().__init__(f"the quality gate failed{scope}:\n{failures}")
        self.result = result


def describe_failure(
    suite: str,
    expectation_type: str,
    kwargs: Mapping[str, Any],
    result: Any,
    description: str | None = None,
) -> str:
    """E.g. `fct_incidents: expect_column_values_to_be_in_set(sla_status) — 2 unexpected values: ['x']`.

    An expectation with a description (a query of unexpected rows) is named by it instead.
    """
    if expectation_type == "unexpected_rows_expectation" and description:
        return f"{suite}: {description} — {_unexpected_rows(result)}"
    return f"{suite}: {expectation_type}({_target(kwargs)}) — {_problem(expectation_type, kwargs, result)}"


def _unexpected_rows(result: Any) -> str:
    error = _exception_message(result.exception_info)
    if error:
        return f"error: {error}"
    details: Mapping[str, Any] = result.result or {}
    rows = (details.get("details") or {}).get("unexpected_rows") or []
    shown = [_plain(tuple(row.values()) if isinstance(row, Mapping) else row) for row in rows]
    return f"{details.get('observed_value', len(rows))} rows, e.g. {shown[:MAX_VALUES_SHOWN]}"


def _target(kwargs: Mapping[str, Any]) -> str:
    if "column" in kwargs:
        return str(kwargs["column"])
    if "column_A" in kwargs:
        return f"{kwargs['column_A']}, {kwargs['column_B']}"
    if "column_list" in kwargs:
        return ", ".join(map(str, kwargs["column_list"]))
    return "table"


def _problem(expectation_type: str, kwargs: Mapping[str, Any], result: Any) -> str:
    error = _exception_message(result.exception_info)
    if error:
        return f"error: {error}"
    details: Mapping[str, Any] = result.result or {}
    if "unexpected_count" in details:
        count = details["unexpected_count"]
        values = _distinct(details.get("partial_unexpected_list") or [])
        if expectation_type == "expect_column_values_to_not_be_null":
            return f"{count} null values"
        if expectation_type == "expect_column_values_to_be_unique":
            return f"{count} rows share a value: {values}"
        if expectation_type == "expect_column_pair_values_a_to_be_greater_than_b":
            relation = "<" if kwargs.get("or_equal") else "<="
            return f"{count} rows where {kwargs['column_A']} {relation} {kwargs['column_B']}: {values}"
        return f"{count} unexpected values: {values}"
    mismatched = (details.get("details") or {}).get("mismatched")
    if mismatched:
        return f"mismatched columns: {mismatched}"
    if "observed_value" in details:
        return f"observed {_plain(details['observed_value'])}"
    return "failed"


def _exception_message(info: Any) -> str | None:
    if not isinstance(info, Mapping):
        return None
    candidates = [info, *(v for v in info.values() if isinstance(v, Mapping))]  # nested: keyed by metric
    for candidate in candidates:
        if candidate.get("raised_exception"):
            return str(candidate.get("exception_message") or "exception").removeprefix("Error: ")
    return None


def _distinct(values: Iterable[Any]) -> list[Any]:
    seen: list[Any] = []
    for value in map(_plain, values):
        if value not in seen:
            seen.append(value)
    return seen[:MAX_VALUES_SHOWN]


def _plain(value: Any) -> Any:
    """Values as the user wrote them: strings for timestamps, tuples for pairs."""
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, list | tuple):
        return tuple(_plain(item) for item in value)
    return str(value)
