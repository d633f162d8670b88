"""Retries for Kubernetes calls: exponential backoff with full jitter on connection errors, 409, 429 and 5xx.

Bounded by a time budget, so one cycle's write never stalls collection for long; the next cycle catches up.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from .kubeclient import ApiError, TransportError

__all__ = ["Backoff", "is_retryable", "retrying"]

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class Backoff:
    base_seconds: float = 0.5
    cap_seconds: float = 8.0
    budget_seconds: float = 15.0
    max_attempts: int = 6


def _status(error: BaseException) -> int | None:
    return error.status if isinstance(error, ApiError) else None


def is_retryable(error: BaseException) -> bool:
    """Connection errors and timeouts; 409 (conflict: re-read and retry), 429 and 5xx."""
    if isinstance(error, TransportError):
        return True
    status = _status(error)
    return status is not None and (status in (409, 429) or status >= 500)


def _retry_after(error: BaseException) -> float | None:
    if isinstance(error, ApiError) and error.retry_after is not None:
        try:
            return float(error.retry_after)
        except ValueError:
            return None
    return None


def retrying(
    call: Callable[[], T],
    what: str,
    backoff: Backoff = Backoff(),
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    jitter: Callable[[], float] = random.random,
) -> T:
    """`call()`, retried while its error is retryable, attempts and budget last; else the last error."""
    start = clock()
    attempt = 0
    while True:
        try:
            return call()
        except Exception as error:
            if not is_retryable(error):
                raise
            delay = min(backoff.cap_seconds, backoff.base_seconds * 2**attempt) * jitter()
            delay = max(delay, min(_retry_after(error) or 0.0, backoff.cap_seconds))
            attempt += 1
            if attempt >= backoff.max_attempts or clock() - start + delay > backoff.budget_seconds:
                raise
            log.warning("%s failed (%s); retry %d in %.1fs", what, _describe(error), attempt, delay)
            sleep(delay)


def _describe(error: BaseException) -> str:
    status = _status(error)
    return f"HTTP {status}" if status is not None else type(error).__name__
