"""VKontakte: a budgeted, rate-limited vk_api client (API 5.199) that batches calls into `execute`, and the
extractor of walls, comments, deletions, keyword searches and the metadata of official accounts.

The client sends up to 25 calls per `execute` request (the VKScript vk_api's `VkRequestsPool` sends),
over a pool of tokens with a token bucket each, a few requests in flight at once. The extractor reads
walls newest first down to its window and re-reads the last 3 days on every run: comments (so that
official answers are seen), edits (a new `edited` time: a new payload version) and deletions (a post
gone from the re-read window is marked in `vk_deleted_posts`, never dropped). The comments of older
posts are re-read too while an incident in them waits for its final answer (`open_threads`).
`prefetch` reads the walls of a whole batch of sources in the background, so that pages of several
walls share each request and loading overlaps with reading.

Errors, by what they mean for a run:
- 6, 9, 10, network errors, timeouts, HTTP 5xx and broken bodies are transient: retried with capped
  backoff within the retry budget; past it the source fails (and Airflow retries the task);
- 29 (a method's daily limit) takes the method off that token until midnight Moscow time; the call
  goes to another token, and when none is left the method is skipped for the rest of the run and the
  reason is recorded on each source that needed it (`Batch.errors`). The stop outlives the run: the
  extraction keeps it in `raw.quota_stops` (`token_pool`), so later runs and other tasks honour it;
- 5, 15, 18, 30, 203, 212 (authorisation, access, deleted, private, closed) are recorded on the source
  the same way: the extractor yields what it could read and the run goes on;
- anything else (a wrong parameter, an unknown method) is a bug: it fails the source.
"""

from __future__ import annotations

import gc
import logging
import math
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import msgspec
import requests
import vk_api
from requests.adapters import HTTPAdapter
from vk_api.exceptions import ApiError, ApiHttpError
from vk_api.utils import sjson_dumps

from socmon.sources.base import Batch, Source
from socmon.sources.rate_limit import ANY_METHOD, MOSCOW, MethodStopped, TokenPool

log = logging.getLogger(__name__)

API_VERSION = "5.199"
VK_API_URL = "https://api.vk.ru"
PAGE_SIZE = 100  # the most wall.get and wall.getComments return per call
THREAD_ITEMS = 10  # the most replies wall.getComments inlines per comment
COMMENT_REREAD_DAYS = 3  # posts this recent are re-read on every run: comments (answers), edits, deletions
MAX_CALLS_PER_EXECUTE = 25  # VK runs at most 25 API calls in one `execute`
SEARCH_PAGE_SIZE = 200  # the most newsfeed.search returns per call
SEARCH_RESULT_CAP = 1000  # newsfeed.search serves only the first 1,000 results: a fuller window is split
PAGE_ESTIMATE_MARGIN = 1.1  # wall pages requested ahead: the estimate from post dates, plus 10%
RATE_MARGIN = 0.95
"""The buckets run this far below a token's limit: VK counts arrivals in any one-second window, and
requests spaced exactly at the limit can arrive closer together (network jitter), each refusal (error 6)
then costing a backoff."""

RETRYABLE_ERRORS = {6, 9, 10}  # too many requests per second, flood control, internal server error
DAILY_LIMIT_ERROR = 29
AUTH_FAILED_ERROR = 5
RECORDED_ERRORS = {
    AUTH_FAILED_ERROR: "authorisation failed",
    15: "access denied",
    18: "page deleted or banned",
    30: "private profile",
    203: "access to the community denied",
    212: "no access to the post's comments",
}
"""Errors recorded on the source without failing the run; the rest of the source is still read."""
COMMENTS_GONE_ERROR = 100  # wall.getComments of a post deleted since wall.get: "post_id is undefined"
SKIPPED_COMMENT_ERRORS = {*RECORDED_ERRORS, DAILY_LIMIT_ERROR, COMMENTS_GONE_ERROR}

GROUP_FIELDS = ",".join(
    [
        "verified", "members_count", "description", "site", "cover", "counters", "contacts", "has_photo",
        "wall", "can_post", "status", "activity", "addresses", "is_closed", "deactivated",
        "photo_200", "links", "main_section",
    ]
)  # fmt: skip


# --- the client ------------------------------------------------------------------------------------


class VkResponse(requests.Response):
    """An answer whose `json()` (which vk_api calls) decodes fast.

    An `execute` of 25 full pages is a 2 MB body of some 100,000 objects, and decoding is most of a
    reader's CPU. msgspec takes half the time the standard library does, and the garbage collector is
    paused meanwhile: a decoded tree has no reference cycles, and the collections its allocations would
    trigger also walk the posts read before. Bodies msgspec refuses but `json` reads (a lone surrogate
    in a text) still decode as before.
    """

    def json(self, **kwargs: Any) -> Any:
        with _garbage_collector_paused:
            try:
                return msgspec.json.decode(self.content)
            except msgspec.DecodeError:
                return super().json(**kwargs)


class _GarbageCollectorPause:
    """No automatic garbage collection while any thread is inside; as it was once the last one leaves."""

    def __init__(self) -> None:
        self._inside = 0
        self._was_enabled = True
        self._lock = threading.Lock()

    def __enter__(self) -> None:
        with self._lock:
            if self._inside == 0:
                self._was_enabled = gc.isenabled()
                gc.disable()
            self._inside += 1

    def __exit__(self, *exc_info: object) -> None:
        with self._lock:
            self._inside -= 1
            if self._inside == 0 and self._was_enabled:
                gc.enable()


_garbage_collector_paused = _GarbageCollectorPause()


class VkTransport(HTTPAdapter):
    """Gives every request a timeout, sends it to another API host (the sandbox) when asked, and decodes
    answers with msgspec (`VkResponse`)."""

    def __init__(self, api_url: str = VK_API_URL, timeout: float = 30.0) -> None:
        super().__init__(max_retries=0)
        self.api_url = api_url.rstrip("/")
        self.timeout = timeout

    def send(self, request, **kwargs):  # type: ignore[no-untyped-def]
        if self.api_url != VK_API_URL and request.url.startswith(VK_API_URL):
            request.url = self.api_url + request.url[len(VK_API_URL) :]
        kwargs["timeout"] = kwargs.get("timeout") or self.timeout
        return super().send(request, **kwargs)

    def build_response(self, req, resp):  # type: ignore[no-untyped-def]
        response = super().build_response(req, resp)
        response.__class__ = VkResponse
        return response


class _VkApiWithoutOwnRetry(vk_api.VkApi):
    """vk_api retries error 6 forever and sleeps a fixed RPS_DELAY; socmon's budget and buckets do both."""

    RPS_DELAY = 0.0

    def too_many_rps_handler(self, error: ApiError) -> None:
        return None


@dataclass(frozen=True)
class VkCall:
    """One API method call: the method and its parameters."""

    method: str
    params: dict[str, Any]


class VkError(Exception):
    """An error VK answered for one call, after the client's retries (29 also when no token may call)."""

    def __init__(self, code: int, message: str, method: str) -> None:
        super().__init__(f"VK error {code} on {method}: {message}")
        self.code = code
        self.message = message
        self.method = method


@dataclass(frozen=True)
class VkAnswer:
    """What one call returned: its response, or the error VK answered."""

    call: VkCall
    response: Any = None
    error: VkError | None = None


@dataclass(frozen=True)
class _Retry:
    """A call inside `execute` to send again: after a backoff (`transient`) or at once, to another token."""

    code: int
    transient: bool


class VkClient:
    """Calls VK API methods over a pool of tokens, batching calls into `execute` requests.

    Each token has its own bucket of `requests_per_second` (3 for a user token, 20 for a community
    token; less `RATE_MARGIN`); an `execute` of up to 25 calls is one request. Up to `max_in_flight`
    requests wait for VK at once (an `execute` takes VK a good part of a second, so one at a time leaves
    most of the rate unused); the buckets still bound the rate. Transient failures are retried within
    `retry_budget` per request (and per call inside an `execute`), with backoff doubling from
    `backoff_seconds` up to `max_backoff_seconds`.
    """

    def __init__(
        self,
        token: str | None = None,
        api_url: str = VK_API_URL,
        requests_per_second: float = 3.0,
        retry_budget: int = 5,
        max_backoff_seconds: float = 8.0,
        *,
        tokens: Sequence[str] = (),
        pool: TokenPool | None = None,
        timeout_seconds: float = 30.0,
        backoff_seconds: float = 0.25,
        max_in_flight: int = 4,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.pool = pool or TokenPool([t for t in (token, *tokens) if t], requests_per_second * RATE_MARGIN)
        self.retry_budget = retry_budget
        self.backoff_seconds = backoff_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self.max_in_flight = max(1, max_in_flight)
        self._api_url = api_url
        self._timeout_seconds = timeout_seconds
        self._sleep = sleep
        self._per_thread = threading.local()  # vk_api sends one request at a time per VkApi: one per thread
        self._workers: ThreadPoolExecutor | None = None
        self._workers_lock = threading.Lock()

    def call(self, method: str, **params: Any) -> Any:
        """One call in its own request; raises `VkError` for an error VK answered."""
        answer = self.call_all([VkCall(method, params)], calls_per_request=1)[0]
        if answer.error is not None:
            raise answer.error
        return answer.response

    def call_all(
        self, calls: Sequence[VkCall], calls_per_request: int = MAX_CALLS_PER_EXECUTE
    ) -> list[VkAnswer]:
        """Every call's answer, in order, sending up to `calls_per_request` (≤ 25) calls per request.

        A call VK refused for good comes back with its `error`. Transient failures are retried; past the
        budget the last one is raised.
        """
        answers = dict(self.call_each(calls, calls_per_request))
        return [answers[i] for i in range(len(calls))]

    def call_each(
        self, calls: Sequence[VkCall], calls_per_request: int = MAX_CALLS_PER_EXECUTE
    ) -> Iterator[tuple[int, VkAnswer]]:
        """(index, answer) of every call as soon as its request is answered: `call_all`, but the caller
        works on the first answers while later requests still wait for VK."""
        per_request = max(1, min(calls_per_request, MAX_CALLS_PER_EXECUTE))
        attempts = dict.fromkeys(range(len(calls)), 0)
        pending = list(range(len(calls)))
        while pending:
            again: list[int] = []
            for chunk, outcomes in self._send_each(calls, list(_chunks(pending, per_request))):
                for index, outcome in zip(chunk, outcomes, strict=True):
                    if isinstance(outcome, VkAnswer):
                        yield index, outcome
                        continue
                    if outcome.transient:
                        attempts[index] += 1
                        if attempts[index] > self.retry_budget:
                            message = f"still failing after {self.retry_budget} retries"
                            raise VkError(outcome.code, message, calls[index].method)
                    again.append(index)
            transient = [attempts[i] for i in again if attempts[i]]
            if transient:
                self._back_off(max(transient) - 1, f"{len(again)} calls inside execute")
            pending = again

    def _send_each(
        self, calls: Sequence[VkCall], chunks: list[list[int]]
    ) -> Iterator[tuple[list[int], list[VkAnswer | _Retry]]]:
        """(chunk, outcomes) of each chunk of calls, one request each, as answered; up to `max_in_flight`
        requests at once."""
        if len(chunks) == 1 or self.max_in_flight == 1:
            for chunk in chunks:
                yield chunk, self._send([calls[i] for i in chunk])
            return
        pool = self._worker_pool()
        sent = {pool.submit(self._send, [calls[i] for i in chunk]): chunk for chunk in chunks}
        try:
            for answered in as_completed(sent):
                yield sent[answered], answered.result()
        finally:
            for request in sent:  # the caller stopped early (an error): requests not yet begun are not sent
                request.cancel()

    def _worker_pool(self) -> ThreadPoolExecutor:
        with self._workers_lock:
            if self._workers is None:
                self._workers = ThreadPoolExecutor(self.max_in_flight, thread_name_prefix="vk-request")
            return self._workers

    def _api(self, token: str) -> vk_api.VkApi:
        """This thread's vk_api session for the token (its own connection pool)."""
        apis: dict[str, vk_api.VkApi] = self._per_thread.__dict__.setdefault("apis", {})
        if token not in apis:
            apis[token] = _vk_api(token, self._api_url, self._timeout_seconds)
        return apis[token]

    def _send(self, calls: list[VkCall]) -> list[VkAnswer | _Retry]:
        """One request for `calls` (a plain call, or an `execute`), retried while it fails as a whole."""
        methods = {c.method for c in calls}
        attempt = 0
        while True:
            try:
                token = self.pool.acquire(methods)
            except MethodStopped as stopped:
                if len(methods) > 1:  # some token may still call each method alone
                    return [outcome for call in calls for outcome in self._send([call])]
                code = AUTH_FAILED_ERROR if stopped.method == ANY_METHOD else DAILY_LIMIT_ERROR
                return [VkAnswer(call, error=VkError(code, str(stopped), call.method)) for call in calls]
            try:
                return self._execute(token, calls) if len(calls) > 1 else [self._call_one(token, calls[0])]
            except ApiError as exc:
                if self._take_token_off(token, exc.code, exc.method, str(exc)):
                    continue
                if exc.code not in RETRYABLE_ERRORS:
                    message = str(exc.error.get("error_msg", exc))
                    return [VkAnswer(call, error=VkError(exc.code, message, call.method)) for call in calls]
                failure: Exception = exc
            except (requests.RequestException, ApiHttpError, ValueError) as exc:
                failure = exc
            if attempt >= self.retry_budget:
                raise failure
            self._back_off(attempt, f"{type(failure).__name__}: {failure} on {'+'.join(sorted(methods))}")
            attempt += 1

    def _call_one(self, token: str, call: VkCall) -> VkAnswer:
        return VkAnswer(call, response=self._api(token).method(call.method, call.params))

    def _execute(self, token: str, calls: list[VkCall]) -> list[VkAnswer | _Retry]:
        """The calls in one `execute`: the VKScript `vk_api.VkRequestsPool` sends for a mixed pool."""
        script = "return [" + ",".join(f"API.{c.method}({sjson_dumps(c.params)})" for c in calls) + "];"
        body = self._api(token).method("execute", {"code": script}, raw=True)
        results = body.get("response")
        if not isinstance(results, list) or len(results) != len(calls):
            raise ValueError(f"execute answered {type(results).__name__} for {len(calls)} calls")
        errors = iter(body.get("execute_errors") or [])
        outcomes: list[VkAnswer | _Retry] = []
        for call, result in zip(calls, results, strict=True):
            if result is not False:
                outcomes.append(VkAnswer(call, response=result))
                continue
            error: dict[str, Any] = next(errors, {})
            code, message = int(error.get("error_code", 1)), str(error.get("error_msg", "no execute_errors"))
            if self._take_token_off(token, code, call.method, message):
                outcomes.append(_Retry(code, transient=False))
            elif code in RETRYABLE_ERRORS:
                outcomes.append(_Retry(code, transient=True))
            else:
                outcomes.append(VkAnswer(call, error=VkError(code, message, call.method)))
        return outcomes

    def _take_token_off(self, token: str, code: int, method: str, message: str) -> bool:
        """Stop the token for what error 29 (the method, until tomorrow) or 5 (everything) says."""
        if code == DAILY_LIMIT_ERROR:
            until = self.pool.stop_until_next_day(token, method, message)
            log.warning("VK error 29 on %s: the token is off it until %s", method, _moscow_time(until))
            return True
        if code == AUTH_FAILED_ERROR and len(self.pool.tokens) > 1:
            self.pool.stop(token, ANY_METHOD, math.inf, message)
            log.error("VK error 5: a token of the pool failed authorisation and is off: %s", message)
            return True
        return False

    def _back_off(self, attempt: int, reason: str) -> None:
        delay = min(self.max_backoff_seconds, self.backoff_seconds * 2**attempt)
        log.warning("%s; retry %d/%d in %.2fs", reason, attempt + 1, self.retry_budget, delay)
        self._sleep(delay)


def _vk_api(token: str, api_url: str, timeout_seconds: float) -> vk_api.VkApi:
    session = requests.Session()
    transport = VkTransport(api_url, timeout_seconds)
    session.mount("https://", transport)
    session.mount("http://", transport)
    return _VkApiWithoutOwnRetry(token=token, api_version=API_VERSION, session=session)


def _chunks(items: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _moscow_time(unix_time: float) -> str:
    return datetime.fromtimestamp(unix_time, MOSCOW).isoformat() if math.isfinite(unix_time) else "never"


# --- the extractor ---------------------------------------------------------------------------------


class VkExtractor:
    """Posts, comments and deletions of VK walls, keyword searches, and the metadata of official accounts.

    Sources of kind `community` and `official_account` are walls (`external_id` is the owner id);
    kind `query` is a newsfeed.search (`external_id` is the query text). Cursors:
    - `wall.get`: `{"newest_date": unix time, "recent": {post id: [date, edited]}}`, the posts of the
      re-read window, to notice edits and deletions on the next run;
    - `newsfeed.search`: `{"searched_until": unix time}`;
    - `groups.getById`: `{"day": "YYYY-MM-DD"}`.
    `calls_per_execute=1` sends every call in its own request (the naive path, for comparison).
    """

    platform = "vk"

    def __init__(self, client: VkClient, calls_per_execute: int = MAX_CALLS_PER_EXECUTE) -> None:
        self.client = client
        self.calls_per_execute = calls_per_execute
        self._prefetched: dict[int, _WallRead] = {}
        self._read_ahead: ThreadPoolExecutor | None = None
        self._read_ahead_lock = threading.Lock()

    @property
    def token_pool(self) -> TokenPool:
        """The client's tokens and what each may not call today (kept across runs by the caller)."""
        return self.client.pool

    def prefetch(self, sources: Iterable[Source], since: datetime, until: datetime) -> Future[None]:
        """Start reading the walls of many sources in the background, for their `extract` to use.

        The first pages of 25 walls share each `execute`, then their further pages share the next ones,
        several in flight. `extract` of a source waits only for its own wall, so the walls read first are
        loaded while the rest are still being read. Best effort: a wall whose read failed, or that a
        source's cursor needs read deeper, is read again by its `extract`. The returned future is done
        when every wall has been tried.
        """
        oldest = _Window.of(since, until).oldest
        reads = [_WallRead(int(s.external_id), oldest) for s in sources if s.kind != "query"]
        self._prefetched = {read.owner_id: read for read in reads}
        with self._read_ahead_lock:
            if self._read_ahead is None:
                self._read_ahead = ThreadPoolExecutor(1, thread_name_prefix="vk-read-ahead")
            return self._read_ahead.submit(self._read_ahead_walls, reads)

    def _read_ahead_walls(self, reads: list[_WallRead]) -> None:
        try:
            self._read_walls(reads)
        except Exception:
            log.warning(
                "prefetching %d walls failed; each is read by its own extract",
                len(reads),
                exc_info=True,
            )
        finally:
            for read in reads:
                read.settled.set()

    def extract(
        self,
        source: Source,
        since: datetime,
        until: datetime,
        cursors: dict[str, dict[str, Any]],
        open_threads: Sequence[str] = (),
    ) -> Iterator[Batch]:
        if source.kind == "query":
            yield from self._extract_search(source, since, until, cursors)
            return
        yield from self._extract_wall(source, since, until, cursors, open_threads)
        if source.kind == "official_account":
            yield from self._extract_group(source, until, cursors)

    def search(self, query: str, since: datetime, until: datetime) -> Iterator[dict[str, Any]]:
        """Posts matching `query` published in [since, until), from newsfeed.search.

        A window whose results reach 1,000 (all VK serves) is split in halves until each half has
        fewer; windows and pages are read together in `execute` requests. Raises `VkError`.
        """
        seen: set[tuple[Any, Any] | None] = set()
        windows = [(int(since.timestamp()), int(until.timestamp()) - 1)]  # end_time is inclusive
        pages: list[tuple[tuple[int, int], str]] = []
        while windows or pages:
            calls = [_search_page(query, w) for w in windows] + [_search_page(query, w, f) for w, f in pages]
            answers = self.client.call_all(calls, self.calls_per_execute)
            asked = [(w, True) for w in windows] + [(w, False) for w, _ in pages]
            windows, pages = [], []
            for (window, is_first), answer in zip(asked, answers, strict=True):
                if answer.error is not None:
                    raise answer.error
                found = answer.response
                total = max(found.get("count", 0), found.get("total_count", 0))
                start, end = window
                if is_first and total >= SEARCH_RESULT_CAP and end > start:
                    middle = (start + end) // 2
                    windows += [(start, middle), (middle + 1, end)]
                    continue
                if is_first and total >= SEARCH_RESULT_CAP:
                    log.warning(
                        "%r: %d results in the one second %d; VK serves the first 1,000", query, total, start
                    )
                for post in found.get("items", []):
                    key = (post.get("owner_id"), post.get("id")) if isinstance(post, dict) else None
                    if key is None or key not in seen:
                        seen.add(key)
                        yield post
                if found.get("next_from") and found.get("items"):
                    pages.append((window, found["next_from"]))

    # walls

    def _extract_wall(
        self,
        source: Source,
        since: datetime,
        until: datetime,
        cursors: dict[str, dict[str, Any]],
        open_threads: Sequence[str],
    ) -> Iterator[Batch]:
        owner_id = int(source.external_id)
        wall_cursor = cursors.get("wall.get", {})
        if "newest_date" in wall_cursor:  # a missed run leaves no gap: read from where we stopped
            since = min(since, datetime.fromtimestamp(wall_cursor["newest_date"], since.tzinfo))
        window = _Window.of(since, until)
        read = self._read_wall(owner_id, window.oldest)
        if read.error is not None:
            # what was read is kept; the cursor stays where the data is complete, so nothing is skipped
            partial = [p for p in read.posts if window.holds_new(p)]
            yield Batch("vk_posts", partial, errors=_recorded(source, {"wall.get": _describe(read.error)}))
            return
        posts = read.posts

        known: dict[str, list[int]] = wall_cursor.get("recent", {})
        gone, unconfirmed = window.missing(known, posts) if known else set(), set()
        if gone:  # confirm with a second read: a post deleted while paging shifts the offsets
            again = self._read_wall(owner_id, window.oldest, fresh=True)
            if again.error is not None:
                gone, unconfirmed = set(), gone  # checked again on the next run
            else:
                posts = _unique_posts([*posts, *again.posts])
                gone = window.missing(known, again.posts) & gone
        if gone:
            log.info("%s: %d posts deleted since the last read", source.source_id, len(gone))
            detected = [{"owner_id": owner_id, "post_id": int(i), "date": known[i][0]} for i in sorted(gone)]
            yield Batch("vk_deleted_posts", detected)

        wall = window.sort_out(posts, known)
        newest = max(wall.newest_date or 0, wall_cursor.get("newest_date", window.since))
        kept = {i: v for i, v in known.items() if v[0] >= window.until or i in unconfirmed}
        cursor = {"newest_date": newest, "recent": kept | wall.recent}
        yield Batch("vk_posts", wall.to_store, method="wall.get", cursor=cursor)

        reread = set(wall.commented)
        older_open = [int(t) for t in open_threads if t.isdigit() and int(t) not in reread]
        if older_open:
            log.info("%s: re-reading %d threads with open incidents", source.source_id, len(older_open))
        comments, errors = self._read_comments(owner_id, [*wall.commented, *older_open], window.until)
        yield Batch("vk_comments", comments, errors=_recorded(source, errors))

    def _read_wall(self, owner_id: int, oldest_ts: int, fresh: bool = False) -> _WallRead:
        """The wall down to oldest_ts: prefetched when that read went deep enough, else read now."""
        read = None if fresh else self._prefetched.pop(owner_id, None)
        if read is not None:
            read.settled.wait()
        if read is None or not read.done or read.oldest_ts > oldest_ts:
            read = _WallRead(owner_id, oldest_ts)
            self._read_walls([read])
        if read.error is not None:
            _raise_unless_recorded(read.error)
        return read

    def _read_walls(self, reads: list[_WallRead]) -> None:
        """Page all the walls at once: each round asks every unfinished wall for the pages it still
        needs (estimated from its post dates), in shared `execute` requests. A wall is `settled` as soon
        as its last page is in, while other walls' pages are still on their way."""
        pending = [read for read in reads if not read.done]
        while pending:
            wanted = [(read, read.next_pages(self.calls_per_execute)) for read in pending]
            calls = [call for _, pages in wanted for call in pages]
            reader_of = [(read, len(pages)) for read, pages in wanted for _ in pages]
            answered: dict[int, dict[int, VkAnswer]] = {}
            for index, answer in self.client.call_each(calls, self.calls_per_execute):
                read, page_count = reader_of[index]
                pages = answered.setdefault(id(read), {})
                pages[index] = answer
                if len(pages) == page_count:
                    read.take([pages[i] for i in sorted(pages)])
                    if read.done:
                        read.settled.set()
            pending = [read for read in pending if not read.done]

    # comments

    def _read_comments(
        self, owner_id: int, post_ids: list[int], until_ts: int
    ) -> tuple[list[dict[str, Any]], dict[str, str]]:
        """Every comment of the posts, replies included, each as its own record; and what could not be read.

        First pages of all posts go out together; then every follow-up (further pages, threads longer
        than the replies inlined) together, until nothing is left.
        """
        comments: list[Any] = []
        refused: dict[int, list[int]] = {}  # error code → posts
        first_errors: dict[int, VkError] = {}
        calls = [_comments_page(owner_id, post_id) for post_id in post_ids]
        while calls:
            follow_ups: list[VkCall] = []
            for answer in self.client.call_all(calls, self.calls_per_execute):
                params = answer.call.params
                if answer.error is not None:
                    if answer.error.code not in SKIPPED_COMMENT_ERRORS:
                        raise answer.error
                    refused.setdefault(answer.error.code, []).append(params["post_id"])
                    first_errors.setdefault(answer.error.code, answer.error)
                    continue
                items = answer.response.get("items", [])
                for comment in items:
                    comments.append(comment)
                    thread = comment.get("thread") if isinstance(comment, dict) else None
                    replies = (thread.get("items") or []) if isinstance(thread, dict) else []
                    comment_id = _int_field(comment, "id")
                    if comment_id is not None and (_int_field(thread, "count") or 0) > len(replies):
                        follow_ups.append(_comments_page(owner_id, params["post_id"], comment_id=comment_id))
                    else:
                        comments += replies
                level_count = answer.response.get("current_level_count", answer.response.get("count", 0))
                if items and params["offset"] + len(items) < level_count:
                    follow_ups.append(
                        VkCall("wall.getComments", {**params, "offset": params["offset"] + len(items)})
                    )
            calls = follow_ups
        kept = [c for c in comments if (date := _int_field(c, "date")) is None or date < until_ts]
        errors = {}
        if refused:
            errors["wall.getComments"] = "; ".join(
                f"{_describe(first_errors[code])} (on {len(set(posts))} posts: "
                + ", ".join(map(str, sorted(set(posts))[:20]))
                + ")"
                for code, posts in sorted(refused.items())
            )
        return kept, errors

    # official accounts

    def _extract_group(
        self, source: Source, until: datetime, cursors: dict[str, dict[str, Any]]
    ) -> Iterator[Batch]:
        today = until.date().isoformat()
        if cursors.get("groups.getById", {}).get("day") == today:
            return
        owner_id = int(source.external_id)
        answer = self.client.call_all(
            [VkCall("groups.getById", {"group_id": -owner_id, "fields": GROUP_FIELDS})]
        )[0]
        if answer.error is not None:
            _raise_unless_recorded(answer.error)
            yield Batch(
                "vk_groups", [], errors=_recorded(source, {"groups.getById": _describe(answer.error)})
            )
            return
        yield Batch("vk_groups", answer.response["groups"], method="groups.getById", cursor={"day": today})

    # keyword searches

    def _extract_search(
        self, source: Source, since: datetime, until: datetime, cursors: dict[str, dict[str, Any]]
    ) -> Iterator[Batch]:
        searched_until = cursors.get("newsfeed.search", {}).get("searched_until")
        if searched_until is not None:  # a missed run leaves no gap
            since = min(since, datetime.fromtimestamp(searched_until, since.tzinfo))
        try:
            posts = list(self.search(source.external_id, since, until))
        except VkError as error:
            _raise_unless_recorded(error)
            yield Batch("vk_posts", [], errors=_recorded(source, {"newsfeed.search": _describe(error)}))
            return
        cursor = {"searched_until": max(int(until.timestamp()), searched_until or 0)}
        yield Batch("vk_posts", posts, method="newsfeed.search", cursor=cursor)


@dataclass(frozen=True)
class _Window:
    """The unix times of one run: new posts are in [since, until); posts from reread_from are re-read."""

    since: int
    until: int
    reread_from: int

    @classmethod
    def of(cls, since: datetime, until: datetime) -> _Window:
        reread_from = until - timedelta(days=COMMENT_REREAD_DAYS)
        return cls(int(since.timestamp()), int(until.timestamp()), int(reread_from.timestamp()))

    @property
    def oldest(self) -> int:
        return min(self.since, self.reread_from)

    def holds_new(self, post: Any) -> bool:
        """A post published in [since, until), or one whose date cannot be read (the loader judges it)."""
        return self._is_new(_int_field(post, "date"))

    def _is_new(self, date: int | None) -> bool:
        return date is None or self.since <= date < self.until

    def sort_out(self, posts: list[Any], known: dict[str, list[int]]) -> _WallPosts:
        """One pass over a wall's posts (a wall of 2,500 is read in a tenth of a second, so it counts):
        what to store, the re-read window's versions, and the posts whose comments to read."""
        wall = _WallPosts()
        for post in posts:
            post_id, date = _int_field(post, "id"), _int_field(post, "date")
            is_new = self._is_new(date)
            if is_new and date is not None and (wall.newest_date is None or date > wall.newest_date):
                wall.newest_date = date
            is_other_version = False
            if post_id is not None and date is not None and self.reread_from <= date < self.until:
                key = str(post_id)
                version = wall.recent[key] = [date, post.get("edited") or 0]
                is_other_version = known.get(key) != version  # edited, or not seen by the last run
                if _comment_count(post) > 0:
                    wall.commented.append(post_id)
            if is_new or is_other_version:
                wall.to_store.append(post)
        return wall

    def missing(self, known: dict[str, list[int]], posts: list[dict[str, Any]]) -> set[str]:
        """Ids of known posts of the re-read window that the wall no longer shows."""
        shown = {_key(p) for p in posts}
        return {
            i for i, (date, _) in known.items() if self.reread_from <= date < self.until and i not in shown
        }


@dataclass
class _WallPosts:
    """A wall's posts sorted out for one run (`_Window.sort_out`)."""

    to_store: list[Any] = field(default_factory=list)  # new posts, and re-read posts edited or not seen
    recent: dict[str, list[int]] = field(default_factory=dict)  # {post id: [date, edited]} re-read
    commented: list[int] = field(default_factory=list)  # re-read posts that have comments
    newest_date: int | None = None  # of the new posts


@dataclass
class _WallRead:
    """One wall read newest first by offset, down to `oldest_ts`; the pinned post comes first whatever
    its date. Done when a page reaches past `oldest_ts` or the end of the wall, or VK refuses (`error`)."""

    owner_id: int
    oldest_ts: int
    offset: int = 0
    count: int | None = None
    posts: list[Any] = field(default_factory=list)
    done: bool = False
    error: VkError | None = None
    settled: threading.Event = field(default_factory=threading.Event)  # set once a prefetch has tried it
    _ids: set[int] = field(default_factory=set)

    def next_pages(self, most: int) -> list[VkCall]:
        """The first page; then as many as the post dates say are left (at most `most`)."""
        pages = (
            1
            if self.count is None
            else min(most, _pages_wanted(self.posts, self.offset, self.count, self.oldest_ts))
        )
        return [_wall_page(self.owner_id, self.offset + i * PAGE_SIZE) for i in range(pages)]

    def take(self, answers: list[VkAnswer]) -> None:
        """The answers to `next_pages`, in order; those past the last page needed are dropped."""
        for answer in answers:
            if answer.error is not None:
                self.error, self.done = answer.error, True
                break
            items = answer.response.get("items", [])
            self.count = answer.response.get("count", 0)
            self._keep(items)
            self.offset += PAGE_SIZE
            if _is_last_page(items, self.offset, self.count or 0, self.oldest_ts):
                self.done = True
                break

    def _keep(self, items: list[Any]) -> None:
        """The page's posts down to `oldest_ts`, less repeats (a new post shifts the offsets by one)."""
        for post in items:
            date = _int_field(post, "date")
            if date is not None and date < self.oldest_ts:
                continue
            post_id = _int_field(post, "id")
            if post_id is not None:
                if post_id in self._ids:
                    continue
                self._ids.add(post_id)
            self.posts.append(post)


def _recorded(source: Source, errors: dict[str, str]) -> dict[str, str]:
    """Errors to record on the source, logged here too."""
    for method, reason in errors.items():
        log.warning("%s: %s not read: %s", source.source_id, method, reason)
    return errors


def _raise_unless_recorded(error: VkError) -> None:
    if error.code not in RECORDED_ERRORS and error.code != DAILY_LIMIT_ERROR:
        raise error


def _describe(error: VkError) -> str:
    meaning = RECORDED_ERRORS.get(
        error.code, "daily limit reached" if error.code == DAILY_LIMIT_ERROR else ""
    )
    return f"VK error {error.code} ({meaning}): {error.message}" if meaning else str(error)


def _wall_page(owner_id: int, offset: int) -> VkCall:
    return VkCall("wall.get", {"owner_id": owner_id, "offset": offset, "count": PAGE_SIZE})


def _comments_page(owner_id: int, post_id: int, comment_id: int | None = None) -> VkCall:
    params: dict[str, Any] = {
        "owner_id": owner_id,
        "post_id": post_id,
        "offset": 0,
        "count": PAGE_SIZE,
        "sort": "asc",
        "thread_items_count": 0 if comment_id else THREAD_ITEMS,
    }
    if comment_id:
        params["comment_id"] = comment_id
    return VkCall("wall.getComments", params)


def _search_page(query: str, window: tuple[int, int], start_from: str | None = None) -> VkCall:
    params: dict[str, Any] = {
        "q": query,
        "start_time": window[0],
        "end_time": window[1],
        "count": SEARCH_PAGE_SIZE,
    }
    if start_from:
        params["start_from"] = start_from
    return VkCall("newsfeed.search", params)


def _is_last_page(items: list[Any], offset: int, count: int, oldest_ts: int) -> bool:
    """The end of the wall, or a page whose last dated post (pinned aside) is older than oldest_ts."""
    if not items or offset >= count:
        return True
    last = _unpinned_date(reversed(items))
    return last is not None and last < oldest_ts


def _pages_wanted(posts: list[Any], offset: int, count: int, oldest_ts: int) -> int:
    """How many more pages reach oldest_ts, from the posting rate of the posts read (at least 1)."""
    pages_left = max(1, math.ceil((count - offset) / PAGE_SIZE))
    newest, oldest = _unpinned_date(posts), _unpinned_date(reversed(posts))
    if newest is None or oldest is None or newest <= oldest or len(posts) < 2:
        return 1
    seconds_per_post = (newest - oldest) / (len(posts) - 1)
    posts_to_go = (oldest - oldest_ts) / seconds_per_post * PAGE_ESTIMATE_MARGIN
    return max(1, min(pages_left, math.ceil(posts_to_go / PAGE_SIZE)))


def _unpinned_date(posts: Iterable[Any]) -> int | None:
    """The date of the first post that has one and is not pinned."""
    for post in posts:
        date = _int_field(post, "date")
        if date is not None and not _is_pinned(post):
            return date
    return None


def _unique_posts(posts: list[Any]) -> list[Any]:
    """Posts without repeats (a new post shifts the offsets by one while paging), first seen first."""
    seen: set[Any] = set()
    unique = []
    for post in posts:
        key = _int_field(post, "id")
        if key is None or key not in seen:
            unique.append(post)
            seen.add(key)
    return unique


def _key(post: Any) -> str:
    return str(post.get("id")) if isinstance(post, dict) else ""


def _int_field(item: Any, name: str) -> int | None:
    """An integer field of an item, or None: the item may lack it, mistype it, or not even be an object
    (the loader rejects such items; the extractor only must not trip over them)."""
    if type(item) is dict:
        value = item.get(name)
        if type(value) is int:  # not bool
            return value
    return None


def _is_pinned(post: Any) -> bool:
    return isinstance(post, dict) and bool(post.get("is_pinned"))


def _comment_count(post: dict[str, Any]) -> int:
    return _int_field(post.get("comments"), "count") or 0
