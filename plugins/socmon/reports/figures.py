"""The figures of a report: counts by SLA status, share answered on time, hours to the first answer."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from socmon.reports import labels_ru
from socmon.reports.model import Incident

SLA_STATUSES = ("answered_on_time", "answered_late", "overdue", "open")
SECONDS_PER_HOUR = 3600


@dataclass(frozen=True)
class Figures:
    """The counts of one body (or of all of them) over the period."""

    label: str
    total: int
    by_status: dict[str, int]
    average_hours_to_first_answer: float | None

    @property
    def on_time(self) -> int:
        return self.by_status["answered_on_time"]

    @property
    def late(self) -> int:
        return self.by_status["answered_late"]

    @property
    def overdue(self) -> int:
        return self.by_status["overdue"]

    @property
    def open(self) -> int:
        return self.by_status["open"]

    @property
    def on_time_share_pct(self) -> float | None:
        """Answered on time, in % of incidents whose outcome is known (open ones are left out)."""
        decided = self.on_time + self.late + self.overdue
        return 100 * self.on_time / decided if decided else None


def figures_for(label: str, incidents: Sequence[Incident]) -> Figures:
    """Counts by status and the mean hours from publication to the first answer."""
    counts = Counter(i.sla_status for i in incidents)
    hours = [
        max(0.0, (i.first_answer_at - i.published_at).total_seconds() / SECONDS_PER_HOUR)
        for i in incidents
        if i.first_answer_at is not None
    ]
    return Figures(
        label=label,
        total=len(incidents),
        by_status={status: counts.get(status, 0) for status in SLA_STATUSES},
        average_hours_to_first_answer=sum(hours) / len(hours) if hours else None,
    )


def figures_by_body(incidents: Iterable[Incident]) -> list[Figures]:
    """One Figures per responsible body, the busiest first."""
    groups: dict[str, list[Incident]] = defaultdict(list)
    for incident in incidents:
        groups[incident.body_name].append(incident)
    rows = [figures_for(name, group) for name, group in groups.items()]
    return sorted(rows, key=lambda row: (-row.total, row.label))


def overall_figures(incidents: Sequence[Incident]) -> Figures:
    return figures_for(labels_ru.TOTAL_ROW, incidents)


def counts_by_category(incidents: Iterable[Incident]) -> list[tuple[str, int]]:
    """(category name, incidents), the most frequent first."""
    counts = Counter(i.category_name for i in incidents)
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))
