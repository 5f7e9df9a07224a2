"""A real SMTP server on localhost (aiosmtpd) that keeps what it receives: the sandbox mail server of the
delivery tests and of `socmon demo`, which writes each message under out/mail/ as an .eml file."""

from __future__ import annotations

import email
import email.policy
import logging
import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import quote

from aiosmtpd.controller import Controller

SENDER = "socmon@example.org"


@dataclass
class Received:
    recipient: str
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def attachments(self) -> list[str]:
        return sorted(part.get_filename() for part in self.message.iter_attachments() if part.get_filename())

    @property
    def html(self) -> str:
        body = self.message.get_body(("html",))
        return body.get_content() if body else ""


@dataclass
class Mailbox:
    """What the server received; `refuse` holds addresses whose RCPT TO is answered with 550."""

    port: int = 0
    refuse: set[str] = field(default_factory=set)
    received: list[Received] = field(default_factory=list)
    eml_dir: Path | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def connection_uri(self) -> str:
        """AIRFLOW_CONN_SMTP_DEFAULT for this server: plain SMTP, no TLS, no login."""
        return (
            f"smtp://127.0.0.1:{self.port}?from_email={quote(SENDER)}"
            "&disable_tls=true&disable_ssl=true&retry_limit=0&timeout=10"
        )

    def to(self, recipient: str) -> list[Received]:
        return [item for item in self.received if item.recipient == recipient]

    def clear(self) -> None:
        with self._lock:
            self.received.clear()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 Mailbox unavailable (sandbox refuses this recipient)"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            for recipient in envelope.rcpt_tos:
                self.received.append(Received(recipient, message))  # type: ignore[arg-type]
                if self.eml_dir:
                    self._write_eml(recipient, envelope.content)
        return "250 OK"

    def _write_eml(self, recipient: str, content: bytes) -> None:
        assert self.eml_dir is not None
        self.eml_dir.mkdir(parents=True, exist_ok=True)
        number = len(self.received)
        name = re.sub(r"[^A-Za-z0-9.@_-]", "_", recipient)
        (self.eml_dir / f"{number:04d}_{name}.eml").write_bytes(content)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def running_mailbox(refuse: set[str] | None = None, eml_dir: Path | None = None) -> Iterator[Mailbox]:
    """Serve SMTP on a free localhost port for the duration of the block."""
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every SMTP command at INFO
    mailbox = Mailbox(port=free_port(), refuse=set(refuse or ()), eml_dir=eml_dir)
    controller = Controller(mailbox, hostname="127.0.0.1", port=mailbox.port)
    controller.start()
    try:
        yield mailbox
    finally:
        controller.stop()
