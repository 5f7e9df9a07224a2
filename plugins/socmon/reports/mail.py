"""Sending one letter at a time through the Airflow SMTP connection (the SMTP provider's hook).

The hook reads host, port, login and password, and the extras `from_email`, `disable_tls` and
`disable_ssl`, from the connection (`AIRFLOW_CONN_SMTP_DEFAULT`).
"""

from __future__ import annotations

import hashlib
import logging
import smtplib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

DEFAULT_CONN_ID = "smtp_default"


@dataclass(frozen=True)
class Letter:
    to: str
    subject: str
    html: str
    message_id: str
    files: tuple[Path, ...] = ()
    important: bool = False
    headers: dict[str, str] = field(default_factory=dict)


class Refused(RuntimeError):
    """The server did not take the letter for its recipient (the others are unaffected)."""


def message_id(*parts: str, domain: str = "socmon.local") -> str:
    """The same Message-ID for the same (recipient, period, report): a resend is recognisably the same."""
    digest = hashlib.sha256("|".join(parts).encode()).hexdigest()[:24]
    return f"<socmon.{digest}@{domain}>"


class Outbox:
    """An open SMTP session; `send` raises Refused for a letter the server would not take."""

    def __init__(self, hook) -> None:
        self._hook = hook

    @property
    def sender_domain(self) -> str:
        sender = self._hook.from_email or ""
        return sender.rsplit("@", 1)[-1] if "@" in sender else "socmon.local"

    def send(self, letter: Letter) -> None:
        headers = {"Message-ID": letter.message_id, **letter.headers}
        if letter.important:
            headers |= {"Importance": "high", "X-Priority": "1"}
        try:
            self._hook.send_email_smtp(
                to=[letter.to],
                subject=letter.subject,
                html_content=letter.html,
                files=[str(path) for path in letter.files],
                custom_headers=headers,
            )
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError, smtplib.SMTPSenderRefused) as refused:
            raise Refused(f"{letter.to}: {_reason(refused)}") from refused


def delivery_configured(conn_id: str = DEFAULT_CONN_ID) -> bool:
    """Whether the SMTP connection exists: without it, reports stay in out/ and nothing is mailed."""
    from airflow.exceptions import AirflowNotFoundException
    from airflow.sdk import BaseHook

    try:
        BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        return False
    return True


@contextmanager
def open_outbox(conn_id: str = DEFAULT_CONN_ID) -> Iterator[Outbox]:
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    with SmtpHook(smtp_conn_id=conn_id) as hook:
        yield Outbox(hook)


def _reason(error: smtplib.SMTPException) -> str:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return "; ".join(
            f"{code} {text.decode(errors='replace')}" for code, text in error.recipients.values()
        )
    code = getattr(error, "smtp_code", "")
    text = getattr(error, "smtp_error", b"")
    return f"{code} {text.decode(errors='replace') if isinstance(text, bytes) else text}"
