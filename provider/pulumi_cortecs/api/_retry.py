"""Which failures are worth another try, and how long to wait before it."""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus

import httpx
import tenacity

from pulumi_cortecs._exceptions import ApiError, MalformedResponseError

# 500 is retried too: every retried call is safe to repeat, and the contract says 5xx happen.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})

# The request never left this process: sending it again cannot do anything twice.
UNSENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)

# The request may have reached the server and been acted on before the connection broke.
AMBIGUOUS = (
    httpx.ReadTimeout,
    httpx.WriteTimeout,
    httpx.ReadError,
    httpx.WriteError,
    httpx.RemoteProtocolError,
)


@dataclass(frozen=True)
class RetryEvent:
    """A call failed transiently and is about to be made again: what a ``retry`` event hook
    of :class:`~pulumi_cortecs.api.Client` receives."""

    method: str
    path: str
    attempt: int
    """The attempt that failed, from 1; the next one is ``attempt + 1``."""
    max_attempts: int
    reason: str
    """Why it failed, with any secret redacted (``HTTP 503: Service Unavailable``)."""
    delay: float
    """Seconds until the next attempt."""


_INITIAL_BACKOFF = 0.5
_JITTER = 0.1  # up to 10% more, so clients that failed together do not retry together


def is_transient(exc: BaseException) -> bool:
    """Whether a failed call may succeed if it is simply made again."""
    if isinstance(exc, ApiError):
        return exc.status_code in RETRY_STATUSES
    return isinstance(exc, UNSENT + AMBIGUOUS)


def is_ambiguous(exc: BaseException) -> bool:
    """Whether a failed call may nevertheless have taken effect on the server."""
    if isinstance(exc, MalformedResponseError):
        return True  # a success status whose body was unreadable: it did take effect
    if isinstance(exc, ApiError):
        return exc.status_code is not None and exc.status_code >= 500
    return isinstance(exc, AMBIGUOUS)


def retry_after(response: httpx.Response) -> float | None:
    """The ``Retry-After`` header in seconds (it may be a number or an HTTP date)."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class Backoff:
    """Capped exponential backoff with a little jitter. A server's ``Retry-After`` wins, except
    that a 429's is the least to wait, not a shortcut: a rate-limited account that answers
    "again in 0.1 s" would otherwise get every try within a second, from every create at once,
    and a call would give up on a limit that lasts two.
    """

    def __init__(self, maximum: float, rng: random.Random | None = None) -> None:
        self.maximum = maximum
        self._rng = rng or random.Random()

    def __call__(self, state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        delay = _INITIAL_BACKOFF * 2.0 ** (state.attempt_number - 1)
        delay *= 1 + _JITTER * self._rng.random()
        if isinstance(exc, ApiError) and exc.retry_after is not None:
            rate_limited = exc.status_code == HTTPStatus.TOO_MANY_REQUESTS
            delay = max(delay, exc.retry_after) if rate_limited else exc.retry_after
        return min(self.maximum, delay)


def retrying(
    *,
    max_attempts: int,
    backoff: Backoff,
    sleep: Callable[[float], None],
    before_sleep: Callable[[tenacity.RetryCallState], None],
) -> tenacity.Retrying:
    """A retry loop for one call; failures it gives up on are re-raised as they are."""
    return tenacity.Retrying(
        retry=tenacity.retry_if_exception(is_transient),
        stop=tenacity.stop_after_attempt(max_attempts),
        wait=backoff,
        sleep=sleep,
        before_sleep=before_sleep,
        reraise=True,
    )
