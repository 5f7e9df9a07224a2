"""One retry policy for the three platforms' clients (tenacity): the same budget, the same capped
exponential backoff, the same log line.

A transient failure (a timeout, HTTP 5xx, a rate-limit refusal, a broken body: each client says which)
is retried `budget` times, waiting `backoff` seconds and doubling up to `max_backoff`; past the budget
the last failure is raised. Each retry logs a warning: what failed, the attempt and the wait.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_exponential

log = logging.getLogger(__name__)

RETRY_BUDGET = 5  # retries after the first attempt
BACKOFF_SECONDS = 0.25  # the first wait; each next one doubles
MAX_BACKOFF_SECONDS = 8.0


def retrying(
    what: str,
    is_transient: Callable[[BaseException], bool],
    *,
    budget: int = RETRY_BUDGET,
    backoff: float = BACKOFF_SECONDS,
    max_backoff: float = MAX_BACKOFF_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
    logger: logging.Logger = log,
) -> Retrying:
    """`for attempt in retrying(...): with attempt: ...` runs the block until it succeeds, fails for
    good, or has failed transiently `budget` + 1 times."""

    def log_retry(state: RetryCallState) -> None:
        failure = state.outcome.exception() if state.outcome else None
        delay = state.next_action.sleep if state.next_action else 0.0
        logger.warning(
            "%s: %s; retry %d/%d in %.2fs", what, _describe(failure), state.attempt_number, budget, delay
        )

    return Retrying(
        stop=stop_after_attempt(budget + 1),
        wait=wait_exponential(multiplier=backoff, exp_base=2, max=max_backoff),
        retry=retry_if_exception(is_transient),
        sleep=sleep,
        before_sleep=log_retry,
        reraise=True,
    )


def _describe(failure: BaseException | None) -> str:
    return f"{type(failure).__name__}: {failure}" if failure else "failed"
