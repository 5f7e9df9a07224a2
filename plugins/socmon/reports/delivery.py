"""`socmon deliver`: the reports of a period sent to the recipients registry, each letter once.

The krai's officers get the summary reports as attachments with a short Russian letter; each body's
curators get their body's own list. Every (recipient, period, report) is recorded in `ops.deliveries`
with its Message-ID: a rerun sends only what was not delivered (a refused recipient is tried again), and
says so. A failed gate sends nothing but a hold notice to the krai's officers.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from socmon.period import ReportPeriod, previous_period, report_period
from socmon.reports import labels_ru, ledger
from socmon.reports.casework import CaseIncident, fetch_case_incidents
from socmon.reports.figures import Figures, figures_by_body, overall_figures
from socmon.reports.mail import DEFAULT_CONN_ID, Letter, Refused, delivery_configured, message_id, open_outbox
from socmon.reports.queries import fetch_incidents
from socmon.reports.recipients import Recipient, load_recipients
from socmon.reports.templating import Provenance, current_provenance, render
from socmon.reports.weekly_changes import fetch_compliance_changes

log = logging.getLogger(__name__)

SUMMARY = "summary"
BODY_LIST = "body_list"
HOLD = "hold"
WORST_BODIES_SHOWN = 3

SUBJECTS = {
    SUMMARY: "socmon: отчёт об инцидентах {period}",
    BODY_LIST: "socmon: инциденты органа «{body}» {period}",
    HOLD: "socmon: отчёт {period} задержан, проверка качества не пройдена",
}


@dataclass
class Outcome:
    """What one delivery run did: letters sent, already delivered before, refused (retried next run)."""

    sent: list[str] = field(default_factory=list)
    already_sent: int = 0
    refused: list[str] = field(default_factory=list)
    held: bool = False

    def summary(self) -> str:
        parts = [f"sent {len(self.sent)} letters"]
        parts.append(f"{self.already_sent} already delivered before, not sent again")
        if self.refused:
            parts.append(
                f"{len(self.refused)} refused, to be retried on the next run: {', '.join(self.refused)}"
            )
        return ("held by the quality gate: " if self.held else "") + "; ".join(parts)


@dataclass(frozen=True)
class Pending:
    recipient: Recipient
    report: str
    letter: Letter


def publish(period: str, day: date, conn_id: str = DEFAULT_CONN_ID) -> Outcome:
    """The gate first; then the period's reports are written and delivered, or a hold notice is sent."""
    from socmon.quality.gate import run_gate
    from socmon.reports.export import export_period

    covered = report_period(period, day)
    gate = run_gate(period=covered)
    if not gate.success:
        return send_hold_notice(covered, gate.failures, conn_id)
    return deliver_reports(covered, export_period(period, day), conn_id)


def gate_or_hold(
    period: str, run_day: date, conn_id: str = DEFAULT_CONN_ID, whole_table_tests: bool = True
) -> str | None:
    """The gate for a scheduled run's period, with dbt's whole-table tests (tag `daily`) unless told not
    to; when it fails, the hold notice is sent (where delivery is configured) and the reason returned."""
    from socmon.quality.gate import run_gate

    covered = previous_period(period, run_day)
    gate = run_gate(period=covered, whole_table_tests=whole_table_tests)
    if gate.success:
        return None
    if delivery_configured(conn_id):
        send_hold_notice(covered, gate.failures, conn_id)
    else:
        log.warning(
            "no SMTP connection %r: the hold notice of %s %s is not mailed", conn_id, period, covered.key
        )
    return gate.summary()


def export_scheduled(period: str, run_day: date) -> list[str]:
    """The reports of the period a run on `run_day` covers (yesterday, last week, last month)."""
    from socmon.reports.export import export_period

    return [str(path) for path in export_period(period, previous_period(period, run_day).first_day)]


def deliver_scheduled(
    period: str, run_day: date, paths: Sequence[str], conn_id: str = DEFAULT_CONN_ID
) -> str:
    outcome = deliver_reports(previous_period(period, run_day), [Path(p) for p in paths], conn_id)
    return outcome.summary()


def deliver_reports(covered: ReportPeriod, files: Sequence[Path], conn_id: str = DEFAULT_CONN_ID) -> Outcome:
    """Summary letters (with `files` attached) to the officers, the bodies' lists to their curators."""
    recipients = [r for r in load_recipients() if covered.kind in r.periods]
    done = ledger.sent_reports(covered.kind, covered.key)
    wanted = [(r, SUMMARY if r.is_officer else BODY_LIST) for r in recipients]
    todo = [(r, report) for r, report in wanted if (r.email, report) not in done]
    outcome = Outcome(already_sent=len(wanted) - len(todo))
    if todo:
        provenance = current_provenance()
        by_body = _body_lists(covered)
        names = body_names()
        pending = [
            Pending(
                r,
                report,
                _summary_letter(r, covered, files, provenance)
                if report == SUMMARY
                else _body_letter(r, covered, names, by_body.get(r.body_code or "", []), provenance),
            )
            for r, report in todo
        ]
        _send(pending, covered, conn_id, outcome)
    log.info("delivery of %s %s: %s", covered.kind, covered.key, outcome.summary())
    return outcome


def send_hold_notice(
    covered: ReportPeriod, failures: Sequence[str], conn_id: str = DEFAULT_CONN_ID
) -> Outcome:
    """Only the krai's officers hear of a held report, once per period, with the failed checks named."""
    officers = [r for r in load_recipients() if r.is_officer and covered.kind in r.periods]
    done = ledger.sent_reports(covered.kind, covered.key)
    todo = [r for r in officers if (r.email, HOLD) not in done]
    outcome = Outcome(already_sent=len(officers) - len(todo), held=True)
    if todo:
        provenance = current_provenance()
        subject = SUBJECTS[HOLD].format(period=labels_ru.period_title(covered))
        pending = [
            Pending(
                r,
                HOLD,
                Letter(
                    to=r.email,
                    subject=subject,
                    html=render(
                        "hold_notice.html.j2",
                        subject=subject,
                        period_title=labels_ru.period_title(covered),
                        failures=list(failures),
                        provenance=provenance,
                    ),
                    message_id=message_id(r.email, covered.kind, covered.key, HOLD),
                    important=True,
                ),
            )
            for r in todo
        ]
        _send(pending, covered, conn_id, outcome)
    log.warning("report %s %s held by the quality gate: %s", covered.kind, covered.key, outcome.summary())
    return outcome


def _send(pending: Sequence[Pending], covered: ReportPeriod, conn_id: str, outcome: Outcome) -> None:
    with open_outbox(conn_id) as outbox:
        for item in pending:
            try:
                outbox.send(item.letter)
            except Refused as refused:
                log.warning("refused, will retry on the next run: %s", refused)
                ledger.record_report(
                    item.recipient.email,
                    covered.kind,
                    covered.key,
                    item.report,
                    item.letter.message_id,
                    str(refused),
                )
                outcome.refused.append(item.recipient.email)
                continue
            ledger.record_report(
                item.recipient.email, covered.kind, covered.key, item.report, item.letter.message_id, None
            )
            outcome.sent.append(item.recipient.email)


def _body_lists(covered: ReportPeriod) -> dict[str, list[CaseIncident]]:
    incidents = fetch_case_incidents(
        "i.published_at >= %(starts_at)s and i.published_at < %(ends_at)s",
        {"starts_at": covered.starts_at, "ends_at": covered.ends_at},
    )
    by_body: dict[str, list[CaseIncident]] = defaultdict(list)
    for incident in incidents:
        by_body[incident.body_code or ""].append(incident)
    return by_body


def _summary_letter(
    recipient: Recipient, covered: ReportPeriod, files: Sequence[Path], provenance: Provenance
) -> Letter:
    incidents = fetch_incidents(covered)
    subject = SUBJECTS[SUMMARY].format(period=labels_ru.period_title(covered))
    html = render(
        "officer_summary.html.j2",
        subject=subject,
        recipient=recipient,
        period_title=labels_ru.period_title(covered),
        files=[path.name for path in files],
        totals=overall_figures(incidents),
        worst=worst_bodies(figures_by_body(incidents)),
        changes=_change_counts(covered),
        provenance=provenance,
    )
    return Letter(
        to=recipient.email,
        subject=subject,
        html=html,
        message_id=message_id(recipient.email, covered.kind, covered.key, SUMMARY),
        files=tuple(files),
    )


def _body_letter(
    recipient: Recipient,
    covered: ReportPeriod,
    names: dict[str, str],
    incidents: list[CaseIncident],
    provenance: Provenance,
) -> Letter:
    body_name = names.get(recipient.body_code or "", recipient.body_code or "")
    subject = SUBJECTS[BODY_LIST].format(
        body=labels_ru.short_body_name(body_name), period=labels_ru.period_title(covered)
    )
    html = render(
        "body_list.html.j2",
        subject=subject,
        recipient=recipient,
        body_name=body_name,
        period_title=labels_ru.period_title(covered),
        incidents=incidents,
        overdue_count=sum(1 for i in incidents if i.is_overdue),
        provenance=provenance,
    )
    return Letter(
        to=recipient.email,
        subject=subject,
        html=html,
        message_id=message_id(recipient.email, covered.kind, covered.key, BODY_LIST),
    )


def _change_counts(covered: ReportPeriod) -> dict[str, int] | None:
    """New and fixed compliance failures (check codes) of a week; None for other periods."""
    if covered.kind != "week":
        return None
    changes = fetch_compliance_changes(covered)

    def count(codes: str) -> int:
        return len([code for code in codes.split(",") if code.strip()])

    return {
        "new": sum(count(c.new_failures) for c in changes),
        "fixed": sum(count(c.fixed_failures) for c in changes),
    }


def body_names(schema: str = "marts") -> dict[str, str]:
    from socmon.reports.queries import _names
    from socmon.warehouse import server

    with server.connect("officer") as conn:
        return _names(conn, schema, "dim_executive_bodies")


def worst_bodies(bodies: Sequence[Figures], count: int = WORST_BODIES_SHOWN) -> list[Figures]:
    """The bodies with the lowest share answered on time (then the most overdue), those with overdue ones."""
    lagging = [f for f in bodies if f.overdue or f.late]
    lagging.sort(key=lambda f: (f.on_time_share_pct if f.on_time_share_pct is not None else 101, -f.overdue))
    return lagging[:count]
