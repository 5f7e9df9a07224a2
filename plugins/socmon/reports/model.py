"""What a report holds: the incidents of the period, with reference names resolved."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from socmon.period import ReportPeriod


@dataclass(frozen=True)
class Incident:
    """One row of marts.fct_incidents, with the names of its body, category and municipality."""

    incident_id: str
    platform: str
    message_url: str | None
    source_message_key: str
    category_code: str | None
    category_name: str
    body_code: str | None
    body_name: str
    municipality_code: str | None
    municipality_name: str
    importance: str
    published_at: datetime
    detected_at: datetime
    deadline_at: datetime | None
    first_answer_at: datetime | None
    final_answer_at: datetime | None
    sla_status: str
    rule_version: str | None


@dataclass(frozen=True)
class AccountFailure:
    """One failed check of a body's account in a network (marts.mart_account_compliance_daily)."""

    body_code: str
    body_name: str
    platform: str
    account_key: str | None
    screen_name: str | None
    check_code: str
    check_name: str
    explanation: str
    account_score_pct: float | None
    body_score_pct: float | None


@dataclass(frozen=True)
class AccountCompliance:
    """The failures of the official accounts on one day of the compliance mart (None: no day yet)."""

    day: date | None
    failures: tuple[AccountFailure, ...] = ()


@dataclass(frozen=True)
class ComplianceChange:
    """A body's account in a network with checks failing anew, or fixed, since the previous week."""

    body_name: str
    platform: str
    new_failures: str  # check codes, comma-separated, as the weekly mart lists them
    fixed_failures: str


@dataclass(frozen=True)
class CandidateCommunity:
    """A community outside the registry where search found incidents in the report's week."""

    community_key: str
    platform: str
    incident_count: int
    municipalities: str  # names, comma-separated
    last_seen_at: datetime
    registry_row: str  # the line to add to seeds/registry/monitored_communities.csv


@dataclass(frozen=True)
class Report:
    """Everything an export file is made from."""

    period: ReportPeriod
    incidents: tuple[Incident, ...]
    generated_at: datetime
    accounts: AccountCompliance = AccountCompliance(day=None)
    changes: tuple[ComplianceChange, ...] = ()  # weekly reports only
    candidates: tuple[CandidateCommunity, ...] = ()  # weekly reports only

    @property
    def rule_versions(self) -> tuple[str, ...]:
        return tuple(sorted({i.rule_version for i in self.incidents if i.rule_version}))
