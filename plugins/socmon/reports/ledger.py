"""What was sent to whom: `ops.deliveries` (reports) and `ops.alerts` (alerts and reminders).

A row is written after the server took the letter (`sent`) or refused it (`refused`, tried again on the
next run), so a rerun or a retry never sends a letter that the ledger holds as sent. The officers'
role, which the exports and the alerts read as, writes it (socmon.warehouse.ops_records).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from socmon.warehouse import server


def sent_reports(period: str, period_key: str) -> set[tuple[str, str]]:
    """(recipient, report) pairs already delivered for the period."""
    with server.connect("officer", autocommit=True) as conn:
        rows = conn.execute(
            "select recipient, report from ops.deliveries"
            " where period = %s and period_key = %s and status = 'sent'",
            [period, period_key],
        ).fetchall()
    return {(recipient, report) for recipient, report in rows}


def record_report(
    recipient: str, period: str, period_key: str, report: str, message_id: str, error: str | None
) -> None:
    with server.connect("officer", autocommit=True) as conn:
        conn.execute(
            """
            insert into ops.deliveries as d
                (recipient, period, period_key, report, message_id, status, error, sent_at)
            values (%(recipient)s, %(period)s, %(key)s, %(report)s, %(message_id)s,
                    %(status)s, %(error)s, case when %(error)s::text is null then now() end)
            on conflict (recipient, period, period_key, report) do update
            set status = excluded.status, error = excluded.error, sent_at = excluded.sent_at,
                message_id = excluded.message_id, attempts = d.attempts + 1
            """,
            {
                "recipient": recipient,
                "period": period,
                "key": period_key,
                "report": report,
                "message_id": message_id,
                "status": "refused" if error else "sent",
                "error": error,
            },
        )


def sent_alerts(kind: str) -> set[tuple[str, str]]:
    """(recipient, incident_id) pairs whose alert of this kind was delivered."""
    with server.connect("officer", autocommit=True) as conn:
        rows = conn.execute(
            "select recipient, incident_id from ops.alerts where kind = %s and status = 'sent'", [kind]
        ).fetchall()
    return {(recipient, incident_id) for recipient, incident_id in rows}


def record_alerts(
    recipient: str, kind: str, incidents: Iterable[tuple[str, object]], message_id: str, error: str | None
) -> None:
    """One row per (recipient, incident) of a letter; `incidents` are (incident_id, detected_at)."""
    with server.connect("officer", autocommit=True) as conn:
        for incident_id, detected_at in incidents:
            conn.execute(
                """
                insert into ops.alerts as a
                    (recipient, incident_id, kind, message_id, status, error, detected_at, sent_at)
                values (%(recipient)s, %(incident)s, %(kind)s, %(message_id)s, %(status)s, %(error)s,
                        %(detected_at)s, case when %(error)s::text is null then now() end)
                on conflict (recipient, incident_id, kind) do update
                set status = excluded.status, error = excluded.error, sent_at = excluded.sent_at,
                    message_id = excluded.message_id, attempts = a.attempts + 1
                """,
                {
                    "recipient": recipient,
                    "incident": incident_id,
                    "kind": kind,
                    "message_id": message_id,
                    "status": "refused" if error else "sent",
                    "error": error,
                    "detected_at": detected_at,
                },
            )


def alerting_start(first_start: datetime) -> datetime:
    """The detected_at from which incidents are alerted: `first_start` on the very first run, kept since,
    so that switching alerts on does not send the whole history."""
    with server.connect("officer", autocommit=True) as conn:
        conn.execute(
            "insert into ops.alert_state (started_from)"
            " select %s where not exists (select from ops.alert_state)",
            [first_start],
        )
        return conn.execute("select min(started_from) from ops.alert_state").fetchall()[0][0]
