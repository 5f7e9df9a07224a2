"""Alerts within minutes (the `socmon_alerts` DAG, after each transform).

Every incident detected since alerting began and not yet answered goes to its body's alert recipients,
one letter per recipient, high importance marked in the subject. An unanswered incident whose deadline
is less than `reminder_working_hours` working hours away is sent once more as a reminder. Every
(recipient, incident, kind) is recorded in `ops.alerts`: nothing is sent twice; a refused letter is
tried again on the next run.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from socmon.calendar import working_hours_between
from socmon.period import MOSCOW
from socmon.reports import labels_ru, ledger
from socmon.reports.casework import CaseIncident, fetch_case_incidents
from socmon.reports.mail import DEFAULT_CONN_ID, Letter, Refused, message_id, open_outbox
from socmon.reports.recipients import Recipient, load_recipients
from socmon.reports.templating import current_provenance, render

log = logging.getLogger(__name__)

NEW = "new"
REMINDER = "reminder"
DEFAULT_REMINDER_WORKING_HOURS = 1.0
FIRST_RUN_LOOKBACK = timedelta(hours=24)  # on the very first run: incidents detected in the last day
REMINDER_HORIZON = timedelta(days=5)  # calendar days that surely hold the reminder window's working hours
HIGH_IMPORTANCE_MARK = "[ВАЖНО] "
SUBJECTS = {
    NEW: "socmon: новые инциденты ({count}) для органа «{body}»",
    REMINDER: "socmon: истекает срок ответа ({count}) для органа «{body}»",
}


@dataclass
class AlertOutcome:
    letters: int = 0
    incidents: dict[str, int] = field(default_factory=lambda: {NEW: 0, REMINDER: 0})
    refused: list[str] = field(default_factory=list)

    def summary(self) -> str:
        text = (
            f"sent {self.letters} alert letters: {self.incidents[NEW]} new incidents,"
            f" {self.incidents[REMINDER]} reminders"
        )
        if self.refused:
            text += f"; refused, retried on the next run: {', '.join(self.refused)}"
        return text


def run_alerts(
    as_of: datetime | None = None,
    reminder_working_hours: float = DEFAULT_REMINDER_WORKING_HOURS,
    conn_id: str = DEFAULT_CONN_ID,
) -> AlertOutcome:
    """Send what is due at `as_of` (default: now) and has not been sent."""
    as_of = as_of or datetime.now(MOSCOW)
    recipients = [r for r in load_recipients() if r.alerts and r.body_code]
    outcome = AlertOutcome()
    if not recipients:
        return outcome
    bodies = sorted({r.body_code for r in recipients if r.body_code})
    since = ledger.alerting_start(as_of - FIRST_RUN_LOOKBACK)
    fresh = fetch_case_incidents(
        "i.detected_at >= %(since)s and i.detected_at <= %(as_of)s and i.first_answer_at is null"
        " and i.responsible_body_code = any(%(bodies)s)",
        {"since": since, "as_of": as_of, "bodies": bodies},
    )
    due_soon = [
        incident
        for incident in fetch_case_incidents(
            "i.first_answer_at is null and i.deadline_at > %(as_of)s and i.deadline_at <= %(horizon)s"
            " and i.responsible_body_code = any(%(bodies)s)",
            {"as_of": as_of, "horizon": as_of + REMINDER_HORIZON, "bodies": bodies},
        )
        if incident.deadline_at
        and working_hours_between(as_of, incident.deadline_at) <= reminder_working_hours
    ]
    letters = _letters(recipients, NEW, fresh, ledger.sent_alerts(NEW), as_of)
    letters += _letters(recipients, REMINDER, due_soon, ledger.sent_alerts(REMINDER), as_of)
    if letters:
        provenance = current_provenance()
        with open_outbox(conn_id) as outbox:
            for recipient, kind, incidents, letter_id in letters:
                letter = _letter(recipient, kind, incidents, letter_id, provenance)
                pairs = [(i.incident_id, i.detected_at) for i in incidents]
                try:
                    outbox.send(letter)
                except Refused as refused:
                    log.warning("alert refused, will retry on the next run: %s", refused)
                    ledger.record_alerts(recipient.email, kind, pairs, letter_id, str(refused))
                    outcome.refused.append(recipient.email)
                    continue
                ledger.record_alerts(recipient.email, kind, pairs, letter_id, None)
                outcome.letters += 1
                outcome.incidents[kind] += len(incidents)
    log.info("alerts at %s: %s", as_of.isoformat(timespec="minutes"), outcome.summary())
    return outcome


def _letters(
    recipients: Sequence[Recipient],
    kind: str,
    incidents: Sequence[CaseIncident],
    already: set[tuple[str, str]],
    as_of: datetime,
) -> list[tuple[Recipient, str, list[CaseIncident], str]]:
    by_body: dict[str, list[CaseIncident]] = defaultdict(list)
    for incident in incidents:
        by_body[incident.body_code or ""].append(incident)
    letters = []
    for recipient in recipients:
        unsent = [
            i
            for i in by_body.get(recipient.body_code or "", [])
            if (recipient.email, i.incident_id) not in already
        ]
        if unsent:
            ids = ",".join(sorted(i.incident_id for i in unsent))
            letters.append((recipient, kind, unsent, message_id(recipient.email, kind, ids)))
    return letters


def _letter(
    recipient: Recipient, kind: str, incidents: list[CaseIncident], letter_id: str, provenance
) -> Letter:
    important = any(i.importance == "high" for i in incidents)
    body_name = incidents[0].body_name
    subject = SUBJECTS[kind].format(count=len(incidents), body=labels_ru.short_body_name(body_name))
    if important:
        subject = HIGH_IMPORTANCE_MARK + subject
    html = render(
        "alert.html.j2",
        subject=subject,
        kind=kind,
        body_name=body_name,
        incidents=incidents,
        provenance=provenance,
    )
    return Letter(to=recipient.email, subject=subject, html=html, message_id=letter_id, important=important)
