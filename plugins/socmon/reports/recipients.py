"""The recipients registry, `dbt_project/seeds/registry/report_recipients.csv` (checked by dbt tests)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from socmon.config import settings

KRAI = "krai"
BODY = "body"
REGISTRY_FILE = "report_recipients.csv"


class RegistryError(ValueError):
    pass


@dataclass(frozen=True)
class Recipient:
    email: str
    name: str
    scope: str  # krai: the krai's compliance officers; body: a body's curators
    body_code: str | None
    periods: frozenset[str]
    alerts: bool

    @property
    def is_officer(self) -> bool:
        return self.scope == KRAI


def load_recipients(path: Path | None = None) -> list[Recipient]:
    """Every row of the registry, in file order; a malformed row is a clear error naming its line."""
    path = path or settings().registry_dir / REGISTRY_FILE
    recipients = []
    with path.open(encoding="utf-8", newline="") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            scope = (row.get("scope") or "").strip()
            body_code = (row.get("body_code") or "").strip() or None
            email = (row.get("email") or "").strip()
            if "@" not in email or scope not in (KRAI, BODY) or (scope == BODY) != (body_code is not None):
                raise RegistryError(
                    f"{path}:{line}: expected an address, scope krai or body with a body_code"
                )
            periods = frozenset(p.strip() for p in (row.get("periods") or "").split(";") if p.strip())
            recipients.append(
                Recipient(
                    email=email,
                    name=(row.get("name") or "").strip(),
                    scope=scope,
                    body_code=body_code,
                    periods=periods,
                    alerts=(row.get("alerts") or "").strip().lower() == "true",
                )
            )
    return recipients
