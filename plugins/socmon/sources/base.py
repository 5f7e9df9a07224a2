"""The one interface every platform's extractor implements."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Protocol

from socmon.sources.rate_limit import TokenPool


class SourceDeferred(RuntimeError):
    """The platform asked to wait longer than socmon will: what was read is saved, the rest waits.

    Raised by an extractor after the batches read so far (with their cursors) have been yielded, so the
    next run resumes where this one stopped.
    """

    def __init__(self, source_id: str, retry_after_seconds: float, reason: str) -> None:
        super().__init__(f"{source_id} deferred for {retry_after_seconds:.0f}s: {reason}")
        self.source_id = source_id
        self.retry_after_seconds = retry_after_seconds


@dataclass(frozen=True)
class Source:
    """Something socmon reads: a monitored community or channel, an official account, or a keyword search."""

    source_id: str  # e.g. "vk:-100001", "vk:search:нет воды"
    platform: str  # vk | ok | telegram
    kind: str  # community | official_account | query
    external_id: str  # the platform's id (VK owner id, Telegram channel id, OK group id), or the query
    name_ru: str
    municipality_code: str | None = None
    body_code: str | None = None
    screen_name: str | None = None  # the public username (Telegram channels are resolved by it)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Source:
        return cls(**data)


@dataclass
class Batch:
    """Payloads for one raw table, and the cursor that may be saved once they are committed.

    `errors` (method → reason) are what the platform refused while reading this batch, such as access
    denied or a daily limit: recorded on the source (`raw.source_cursors.last_error`), not raised.
    """

    table: str
    records: list[Any]
    method: str | None = None
    cursor: dict[str, Any] | None = field(default=None)
    errors: dict[str, str] = field(default_factory=dict)


class Extractor(Protocol):
    """What the runner (`socmon.sources.extract_batch_into_raw`) uses of every platform's extractor."""

    platform: str

    @property
    def token_pool(self) -> TokenPool | None:
        """The tokens whose daily limits outlive a run (the runner restores and saves their stops in
        `raw.quota_stops`), or None on a platform without such limits."""
        ...

    def prefetch(self, sources: Iterable[Source], since: datetime, until: datetime) -> object:
        """Start reading a batch's sources ahead, for their `extract` to use (VK shares requests across
        walls); an extractor with nothing to read ahead does nothing. Best effort: `extract` reads on
        its own whatever the prefetch did not."""
        ...

    def extract(
        self,
        source: Source,
        since: datetime,
        until: datetime,
        cursors: dict[str, dict[str, Any]],
        open_threads: Sequence[str] = (),
    ) -> Iterator[Batch]:
        """Yield batches of payloads published in [since, until), resuming from the saved cursors.

        The replies of `open_threads` (ids of posts or topics with an incident still waiting for its
        answer: `casework.open_incident_threads`) are read again too, however old the thread.
        """
        ...
