"""The retry policy for Cronofy calls: what is worth retrying and how long to wait."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)
from tenacity.stop import stop_base
from tenacity.wait import wait_base

# A Retry-After longer than this is not worth holding a chat interaction open for;
# the caller gets CalendarUnavailable at once and can schedule a later attempt.
MAX_RETRY_AFTER = 30.0
MAX_BACKOFF = 10.0


class RetryableStatus(Exception):
    """A 429 or 5xx answer, raised inside the retry loop so tenacity sees it."""

    def __init__(self, status: int, retry_after: float | None = None) -> None:
        self.status = status
        self.retry_after = retry_after
        super().__init__(f"HTTP {status}")


def is_retryable_status(status: int) -> bool:
    return status == 429 or status >= 500


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date), else None."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _last_exception(state: RetryCallState) -> BaseException | None:
    return state.outcome.exception() if state.outcome is not None else None


class wait_retry_after_or_backoff(wait_base):  # lowercase like tenacity's own wait_*/stop_*
    """Honour the server's Retry-After; otherwise exponential backoff with jitter."""

    def __init__(self, base: float, max_wait: float = MAX_BACKOFF) -> None:
        # base, 2·base, 4·base … plus up to one base of jitter so clients spread out.
        self._backoff = wait_exponential(multiplier=base, max=max_wait) + wait_random(0, base)

    def __call__(self, retry_state: RetryCallState) -> float:
        exc = _last_exception(retry_state)
        if isinstance(exc, RetryableStatus) and exc.retry_after is not None:
            return exc.retry_after
        return float(self._backoff(retry_state))


class stop_on_long_retry_after(stop_base):  # lowercase like tenacity's own wait_*/stop_*
    def __call__(self, retry_state: RetryCallState) -> bool:
        exc = _last_exception(retry_state)
        return (
            isinstance(exc, RetryableStatus)
            and exc.retry_after is not None
            and exc.retry_after > MAX_RETRY_AFTER
        )


def retrying(
    max_attempts: int,
    backoff_base: float,
    before_sleep: Callable[[RetryCallState], None] | None = None,
) -> AsyncRetrying:
    return AsyncRetrying(
        stop=stop_after_attempt(max(1, max_attempts)) | stop_on_long_retry_after(),
        wait=wait_retry_after_or_backoff(backoff_base),
        # TransportError covers timeouts, refused connections and dropped sockets.
        retry=retry_if_exception_type((RetryableStatus, httpx.TransportError)),
        before_sleep=before_sleep,
        reraise=False,
    )
