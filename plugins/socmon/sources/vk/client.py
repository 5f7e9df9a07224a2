"""VK's client: API calls over a pool of tokens, batched into `execute`, rate-limited and retried.

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

import logging
import math
import threading
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import requests
import vk_api
from vk_api.exceptions import ApiError, ApiHttpError
from vk_api.utils import sjson_dumps

from socmon.constants import MOSCOW
from socmon.sources.rate_limit import ANY_METHOD, MethodStopped, TokenPool
from socmon.sources.retrying import retrying
from socmon.sources.vk.transport import VK_API_URL, vk_session

log = logging.getLogger(__name__)

MAX_CALLS_PER_EXECUTE = 25  # VK runs at most 25 API calls in one `execute`
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


class _RefusedInsideExecute(Exception):
    """Calls VK refused transiently inside an `execute`: `call_each` sends them again."""

    def __init__(self, calls: Sequence[VkCall], refused: list[tuple[int, int]]) -> None:
        index, self.code = refused[0]
        self.method = calls[index].method
        codes = ", ".join(map(str, sorted({code for _, code in refused})))
        super().__init__(f"{len(refused)} calls refused (error {codes})")


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
        works on the first answers while later requests still wait for VK.

        Calls VK refused transiently inside an `execute` (6, 9, 10 on one call) go again together, after
        `retrying`'s backoff and within its budget (the same log line as a whole request's retry)."""
        per_request = max(1, min(calls_per_request, MAX_CALLS_PER_EXECUTE))
        pending = list(range(len(calls)))
        try:
            for attempt in retrying(
                "VK calls inside execute",
                lambda failure: isinstance(failure, _RefusedInsideExecute),
                budget=self.retry_budget,
                backoff=self.backoff_seconds,
                max_backoff=self.max_backoff_seconds,
                sleep=self._sleep,
                logger=log,
            ):
                with attempt:
                    refused = yield from self._send_round(calls, pending, per_request)
                    pending = [index for index, _ in refused]
                    if refused:
                        raise _RefusedInsideExecute(calls, refused)
        except _RefusedInsideExecute as refused:
            message = f"still failing after {self.retry_budget} retries"
            raise VkError(refused.code, message, refused.method) from refused

    def _send_round(
        self, calls: Sequence[VkCall], pending: list[int], per_request: int
    ) -> Generator[tuple[int, VkAnswer], None, list[tuple[int, int]]]:
        """Send the pending calls, yielding their answers; return those refused transiently (index, error
        code). A call sent with a token just taken off (29, 5) goes again at once, with another."""
        refused: list[tuple[int, int]] = []
        while pending:
            again: list[int] = []
            for chunk, outcomes in self._send_each(calls, list(_chunks(pending, per_request))):
                for index, outcome in zip(chunk, outcomes, strict=True):
                    if isinstance(outcome, VkAnswer):
                        yield index, outcome
                    elif outcome.transient:
                        refused.append((index, outcome.code))
                    else:
                        again.append(index)
            pending = again
        return sorted(refused)

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
            apis[token] = vk_session(token, self._api_url, self._timeout_seconds)
        return apis[token]

    def _send(self, calls: list[VkCall]) -> list[VkAnswer | _Retry]:
        """One request for `calls` (a plain call, or an `execute`), retried while it fails as a whole
        (`socmon.sources.retrying`: the budget, backoff and log line all three platforms share)."""
        methods = {c.method for c in calls}
        for attempt in retrying(
            f"VK {'+'.join(sorted(methods))}",
            _is_transient,
            budget=self.retry_budget,
            backoff=self.backoff_seconds,
            max_backoff=self.max_backoff_seconds,
            sleep=self._sleep,
            logger=log,
        ):
            with attempt:
                return self._send_once(calls, methods)
        raise AssertionError("unreachable: the last failure is raised")

    def _send_once(self, calls: list[VkCall], methods: set[str]) -> list[VkAnswer | _Retry]:
        """The request once; a token taken off (29 on a method, 5) sends it again at once with another.
        Raises a transient failure (`_is_transient`) for `_send` to retry."""
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
                if exc.code in RETRYABLE_ERRORS:
                    raise
                message = str(exc.error.get("error_msg", exc))
                return [VkAnswer(call, error=VkError(exc.code, message, call.method)) for call in calls]

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


def _is_transient(failure: BaseException) -> bool:
    """Worth retrying: errors 6, 9 and 10, network errors, timeouts, HTTP 5xx and broken bodies."""
    if isinstance(failure, ApiError):
        return failure.code in RETRYABLE_ERRORS
    return isinstance(failure, requests.RequestException | ApiHttpError | ValueError)


def _chunks(items: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _moscow_time(unix_time: float) -> str:
    return datetime.fromtimestamp(unix_time, MOSCOW).isoformat() if math.isfinite(unix_time) else "never"
