"""Odnoklassniki: a small signed client of the OK REST API (`fb.do`), and the extractor of group topics,
their comments and the metadata of official groups.

Records are stored as the API returns them, with one field added where a response lacks the key that
`raw` needs (see `with_group_id` and `with_topic_id`):

- a topic of `mediatopic.getTopics` gets `group_id`, the group it was read from;
- a comment of `discussions.getComments` gets `topic_id`, the topic it was read under.

Error codes: https://apiok.ru/dev/errors. The signature: https://apiok.ru/en/dev/methods ("Calculating
request signature").
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import requests

from socmon.constants import MOSCOW
from socmon.sources.base import Batch, Source
from socmon.sources.rate_limit import TokenPool
from socmon.sources.retrying import retrying

log = logging.getLogger(__name__)

OK_API_URL = "https://api.ok.ru/fb.do"
TOPICS_PAGE_SIZE = 20
COMMENTS_PAGE_SIZE = 100
COMMENT_REREAD_DAYS = 3  # comments of topics this recent are re-read on every run, to see answers
DISCUSSION_TYPE = "GROUP_TOPIC"
FORWARD = "FORWARD"  # anchor paging direction: continue after the anchor

RETRYABLE_ERRORS = {
    1: "UNKNOWN",
    2: "SERVICE",  # service temporarily unavailable
    8: "FLOOD_BLOCKED",
    50: "NETWORK",
    51: "NETWORK_TIMEOUT",
    9999: "SYSTEM",
}
CREDENTIAL_ERRORS = {
    101: "OK rejected the application key: check the login of the ok_default connection",
    102: "OK session expired: renew the access token in the ok_default connection",
    103: "OK rejected the session: renew the access token in the ok_default connection",
    104: "OK rejected the request signature: check application_secret_key in the ok_default connection",
}
SKIPPABLE_TOPIC_ERRORS = {
    10: "PERMISSION_DENIED",  # comments closed or the topic hidden
    300: "NOT_FOUND",  # the topic was deleted since it was listed
}

# the topics and their group; no `user.*` fields: users' names are personal data the marts never use (a
# topic's author is its `author_ref`, pseudonymised in the warehouse), so they are not even requested
TOPIC_FIELDS = "media_topic.*,group.uid,group.name"
GROUP_FIELDS = ",".join(
    [
        "uid", "name", "description", "shortname", "members_count", "pic_avatar", "main_photo",
        "access_type", "business", "category", "city", "address", "phone", "homepage_url", "created_ms",
    ]
)  # fmt: skip


class OkApiError(RuntimeError):
    """An error answer of the OK API: `{"error_code", "error_msg"}`."""

    def __init__(self, method: str, code: int, message: str) -> None:
        super().__init__(self.describe(method, code, message))
        self.method = method
        self.code = code
        self.error_msg = message

    @staticmethod
    def describe(method: str, code: int, message: str) -> str:
        return f"OK error {code} on {method}: {message}"


class OkCredentialsError(OkApiError):
    """The connection's credentials no longer work; retrying will not help, a person must renew them."""

    @staticmethod
    def describe(method: str, code: int, message: str) -> str:
        advice = CREDENTIAL_ERRORS.get(code, "OK rejected the credentials of the ok_default connection")
        return f"{advice} (error {code} on {method}: {message})"


class OkTransportError(RuntimeError):
    """The API did not answer with an API response: an HTTP error status or a body that is not JSON."""

    def __init__(self, message: str, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


def session_secret(access_token: str, application_secret_key: str) -> str:
    """The signing key of a server-side call in a session: md5(access_token + application_secret_key)."""
    return _md5(access_token + application_secret_key)


def signature(params: Mapping[str, Any], secret_key: str) -> str:
    """OK's `sig`: md5 of the sorted `key=value` pairs (without sig and access_token), then the secret key."""
    pairs = sorted(f"{k}={_as_text(v)}" for k, v in params.items() if k not in ("sig", "access_token"))
    return _md5("".join(pairs) + secret_key)


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest().lower()


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ",".join(_as_text(v) for v in value)
    return str(value)


class OkClient:
    """Calls OK API methods at a bounded rate, retrying transient failures within a budget.

    Give `application_secret_key` (a server-side application) or `session_secret_key` (a client-side
    session): the first signs with md5(access_token + application_secret_key), the second as it is.
    """

    def __init__(
        self,
        application_key: str,
        access_token: str,
        *,
        application_secret_key: str | None = None,
        session_secret_key: str | None = None,
        api_url: str = OK_API_URL,
        requests_per_second: float = 5.0,
        retry_budget: int = 5,
        max_backoff_seconds: float = 8.0,
        timeout_seconds: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if bool(application_secret_key) == bool(session_secret_key):
            raise ValueError("give exactly one of application_secret_key and session_secret_key")
        self.application_key = application_key
        self._access_token = access_token
        self._secret_key = session_secret_key or session_secret(access_token, application_secret_key or "")
        self.api_url = api_url
        self.min_interval = 1.0 / requests_per_second
        self.retry_budget = retry_budget
        self.max_backoff_seconds = max_backoff_seconds
        self.timeout_seconds = timeout_seconds
        self.sleep = sleep
        self._session = requests.Session()
        self._last_request_at = 0.0

    def call(self, method: str, **params: Any) -> Any:
        """The decoded response of one method; transient failures are retried (`socmon.sources.retrying`)."""
        for attempt in retrying(
            f"OK {method}",
            _is_transient,
            budget=self.retry_budget,
            max_backoff=self.max_backoff_seconds,
            sleep=self.sleep,
            logger=log,
        ):
            with attempt:
                return self._call_once(method, params)
        raise AssertionError("unreachable: the last failure is raised")

    def _call_once(self, method: str, params: Mapping[str, Any]) -> Any:
        form = {k: _as_text(v) for k, v in params.items() if v is not None}
        form |= {"application_key": self.application_key, "method": method, "format": "json"}
        form["sig"] = signature(form, self._secret_key)
        form["access_token"] = self._access_token
        self._wait_for_rate_limit()
        # POST keeps the token out of the URL, and so out of any error message that quotes it.
        response = self._session.post(self.api_url, data=form, timeout=self.timeout_seconds)
        if response.status_code >= 500 or response.status_code == 429:
            raise OkTransportError(f"HTTP {response.status_code} from {method}", retryable=True)
        if response.status_code >= 400:
            raise OkTransportError(f"HTTP {response.status_code} from {method}", retryable=False)
        try:
            body = response.json()
        except ValueError:
            raise OkTransportError(f"a body that is not JSON from {method}", retryable=True) from None
        if isinstance(body, dict) and "error_code" in body:
            code, message = int(body["error_code"]), str(body.get("error_msg", ""))
            if code in CREDENTIAL_ERRORS:
                raise OkCredentialsError(method, code, message)
            raise OkApiError(method, code, message)
        return body

    def _wait_for_rate_limit(self) -> None:
        wait = self._last_request_at + self.min_interval - time.monotonic()
        if wait > 0:
            self.sleep(wait)
        self._last_request_at = time.monotonic()


def _is_transient(failure: BaseException) -> bool:
    """Worth retrying: a retryable API error (not the credentials), HTTP 5xx or 429, a body that is not
    JSON, a lost connection or a timeout."""
    if isinstance(failure, OkCredentialsError):
        return False
    if isinstance(failure, OkApiError):
        return failure.code in RETRYABLE_ERRORS
    if isinstance(failure, OkTransportError):
        return failure.retryable
    return isinstance(failure, requests.ConnectionError | requests.Timeout)


class OkExtractor:
    """Topics and comments of OK groups, and the metadata of official groups."""

    platform = "ok"
    token_pool: TokenPool | None = None  # no daily limits to keep across runs

    def prefetch(self, sources: Iterable[Source], since: datetime, until: datetime) -> None:
        """Nothing to read ahead: each source is read by its own `extract`."""

    def __init__(
        self,
        client: OkClient,
        *,
        topics_page_size: int = TOPICS_PAGE_SIZE,
        comments_page_size: int = COMMENTS_PAGE_SIZE,
    ) -> None:
        self.client = client
        self.topics_page_size = topics_page_size
        self.comments_page_size = comments_page_size

    def extract(
        self,
        source: Source,
        since: datetime,
        until: datetime,
        cursors: dict[str, dict[str, Any]],
        open_threads: Sequence[str] = (),
    ) -> Iterator[Batch]:
        group_id = source.external_id
        topics_cursor = cursors.get("mediatopic.getTopics", {})
        since_ms, until_ms = _ms(since), _ms(until)
        if "newest_ms" in topics_cursor:  # a missed run leaves no gap: read from where we stopped
            since_ms = min(since_ms, int(topics_cursor["newest_ms"]))
        reread_from_ms = _ms(until - timedelta(days=COMMENT_REREAD_DAYS))

        topics = list(self._topics(group_id, oldest_ms=min(since_ms, reread_from_ms)))
        new_topics = [t for t in topics if since_ms <= _created_ms(t) < until_ms]
        newest = max((_created_ms(t) for t in new_topics), default=topics_cursor.get("newest_ms", since_ms))
        yield Batch("ok_topics", new_topics, method="mediatopic.getTopics", cursor={"newest_ms": newest})

        reread = [
            str(t["id"])
            for t in topics
            if reread_from_ms <= _created_ms(t) < until_ms and _comments_count(t) > 0
        ]
        older_open = [topic_id for topic_id in open_threads if topic_id not in reread]
        for topic_id in [*reread, *older_open]:  # older topics while an incident in them is open
            comments = self._comments_or_none(topic_id)
            if comments is not None:
                yield Batch("ok_comments", [c for c in comments if _comment_ms(c) < until_ms])

        if source.kind == "official_account":
            today = until.date().isoformat()
            if cursors.get("group.getInfo", {}).get("day") != today:
                groups = self.client.call("group.getInfo", uids=group_id, fields=GROUP_FIELDS)
                yield Batch("ok_groups", _groups_of(groups), method="group.getInfo", cursor={"day": today})

    def _topics(self, group_id: str, oldest_ms: int) -> Iterator[dict]:
        """Topics newest first, down to oldest_ms, each with the `group_id` it was read from."""
        anchor: str | None = None
        while True:
            params: dict[str, Any] = {"gid": group_id, "count": self.topics_page_size, "fields": TOPIC_FIELDS}
            if anchor:
                params |= {"anchor": anchor, "direction": FORWARD}
            page = self.client.call("mediatopic.getTopics", **params)
            items = page.get("media_topics") or []
            for topic in items:
                if _created_ms(topic) >= oldest_ms:
                    yield {**topic, "group_id": group_id}
            anchor = page.get("anchor")
            if not items or not page.get("has_more") or not anchor or _created_ms(items[-1]) < oldest_ms:
                return

    def _comments_or_none(self, topic_id: str) -> list[dict] | None:
        """Every comment of a topic, or None when the topic is gone or closed since it was listed."""
        try:
            return list(self._comments(topic_id))
        except OkApiError as exc:
            if exc.code not in SKIPPABLE_TOPIC_ERRORS or isinstance(exc, OkCredentialsError):
                raise
            log.warning("comments of OK topic %s skipped: %s", topic_id, exc)
            return None

    def _comments(self, topic_id: str) -> Iterator[dict]:
        """Comments oldest first, each with the `topic_id` it was read under."""
        anchor: str | None = None
        while True:
            params: dict[str, Any] = {
                "discussionId": topic_id,
                "discussionType": DISCUSSION_TYPE,
                "count": self.comments_page_size,
            }
            if anchor:
                params |= {"anchor": anchor, "direction": FORWARD}
            page = self.client.call("discussions.getComments", **params)
            items = page.get("comments") or []
            for comment in items:
                yield {**comment, "topic_id": int(topic_id)}
            anchor = page.get("anchor")
            if not items or not page.get("has_more") or not anchor:
                return


def with_group_id(topic: Any, only_group: str | None) -> Any:
    """A mediatopic.getTopics topic with the `group_id` of its `owner_ref`, else of the only group."""
    if not isinstance(topic, dict) or "group_id" in topic:
        return topic
    owner = str(topic.get("owner_ref") or "")
    group_id = owner.removeprefix("group:") if owner.startswith("group:") else only_group
    return {**topic, "group_id": group_id} if group_id else topic


def with_topic_id(comment: Any, topic_id: int | None) -> Any:
    """A discussions.getComments comment with the topic the caller knows it is under."""
    if not isinstance(comment, dict) or "topic_id" in comment or topic_id is None:
        return comment
    return {**comment, "topic_id": topic_id}


def _groups_of(body: Any) -> list[Any]:
    return body.get("groups", []) if isinstance(body, dict) else list(body)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _created_ms(topic: dict) -> int:
    return int(topic.get("created_ms") or 0)


def _comments_count(topic: dict) -> int:
    return int((topic.get("discussion_summary") or {}).get("comments_count") or 0)


def _comment_ms(comment: dict) -> int:
    """When a comment was written: `date_ms`, or else `date` ("2025-11-25 14:30:00", Moscow time)."""
    if comment.get("date_ms"):
        return int(comment["date_ms"])
    try:
        written = datetime.strptime(str(comment.get("date")), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return 0  # kept: the loader decides what a record without a date is worth
    return _ms(written.replace(tzinfo=MOSCOW))
