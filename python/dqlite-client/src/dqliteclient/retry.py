"""Retrying an async call with exponential backoff."""

import asyncio
import math
import random
import time
from collections.abc import Awaitable, Callable
from typing import Final, NoReturn, TypeVar

from dqliteclient._validate import validate_max_attempts
from dqliteclient.exceptions import (
    ClusterError,
    ClusterPolicyError,
    DqliteConnectionError,
    DqliteError,
    OutcomeUnknownError,
)

__all__ = ["retry_with_backoff"]

T = TypeVar("T")

# A forked worker must not draw the same jitter as its parent.
_retry_random: Final[random.Random] = random.SystemRandom()

_DEFAULT_RETRYABLE: Final[tuple[type[BaseException], ...]] = (
    OSError,
    DqliteConnectionError,
    ClusterError,
)
# Not retried unless asked for: a refused redirect is refused again, and a write whose
# outcome is unknown may have been applied (0.8.0 retries it: a deliberate deviation).
_DEFAULT_EXCLUDED: Final[tuple[type[BaseException], ...]] = (
    ClusterPolicyError,
    OutcomeUnknownError,
)
# The failures of earlier attempts are chained in a group of at most this many.
_MAX_CHAINED: Final[int] = 20


def _check_number(name: str, value: object, *, positive: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        kind = "positive" if positive else "non-negative"
        raise ValueError(f"{name} must be a {kind} finite number, got {value}")


def _history(attempts: list[BaseException]) -> BaseExceptionGroup[BaseException]:
    kept = attempts[:_MAX_CHAINED]
    if len(attempts) > _MAX_CHAINED:
        kept.append(DqliteError(f"... and {len(attempts) - _MAX_CHAINED} more failures"))
    return BaseExceptionGroup(f"retry exhausted after {len(attempts)} attempts", kept)


class _Schedule:
    """The checked settings of a retry loop and its delays, shared by both loops."""

    def __init__(
        self,
        max_attempts: int,
        base_delay: float,
        max_delay: float,
        jitter: float,
        max_elapsed_seconds: float | None,
        now: float,
    ) -> None:
        validate_max_attempts(max_attempts)
        _check_number("base_delay", base_delay)
        _check_number("max_delay", max_delay)
        if isinstance(jitter, bool) or not isinstance(jitter, int | float):
            raise TypeError(f"jitter must be a number, got {type(jitter).__name__}")
        if not (math.isfinite(jitter) and 0 <= jitter < 1):
            raise ValueError(f"jitter must be in [0, 1), got {jitter}")
        if max_elapsed_seconds is not None:
            if isinstance(max_elapsed_seconds, bool) or not isinstance(
                max_elapsed_seconds, int | float
            ):
                raise TypeError(
                    "max_elapsed_seconds must be a number or None, "
                    f"got {type(max_elapsed_seconds).__name__}"
                )
            _check_number("max_elapsed_seconds", max_elapsed_seconds, positive=True)
        self.max_attempts = max_attempts
        self._base = base_delay
        self._cap = max_delay
        self._jitter = jitter
        self._deadline = None if max_elapsed_seconds is None else now + max_elapsed_seconds
        self.failures: list[BaseException] = []

    def expired(self, now: float) -> bool:
        """True once ``max_elapsed_seconds`` have passed."""
        return self._deadline is not None and now >= self._deadline

    def record(
        self,
        failure: BaseException,
        retryable: tuple[type[BaseException], ...],
        excluded: tuple[type[BaseException], ...],
    ) -> bool:
        """Keeps ``failure`` if it may be retried (True); False: raise it."""
        if isinstance(failure, excluded):
            return False
        if isinstance(failure, BaseExceptionGroup):
            excluded_part, _ = failure.split(excluded)
            retryable_part, other = failure.split(retryable)
            if excluded_part is not None or other is not None or retryable_part is None:
                return False
            self.failures.append(retryable_part)
            return True
        if isinstance(failure, retryable):
            self.failures.append(failure)
            return True
        return False

    def delay(self, attempt: int, now: float) -> float | None:
        """Seconds to wait before attempt ``attempt + 1``, or None: give up."""
        if attempt == self.max_attempts - 1 or self.expired(now):
            return None
        delay = min(self._base * 2.0**attempt, self._cap)
        if self._jitter:
            delay = min(delay * (1 + _retry_random.uniform(-self._jitter, self._jitter)), self._cap)
        if self._deadline is not None:
            delay = min(delay, max(0.0, self._deadline - now))
        return delay

    def give_up(self) -> NoReturn:
        """Raises the last failure, chained to a group of the earlier ones."""
        last = self.failures[-1]
        if len(self.failures) > 1:
            raise last from _history(self.failures)
        raise last


async def retry_with_backoff(
    func: Callable[[], Awaitable[T]],
    max_attempts: int = 5,
    base_delay: float = 0.1,
    max_delay: float = 10.0,
    jitter: float = 0.1,
    max_elapsed_seconds: float | None = None,
    retryable_exceptions: tuple[type[BaseException], ...] = _DEFAULT_RETRYABLE,
    excluded_exceptions: tuple[type[BaseException], ...] = _DEFAULT_EXCLUDED,
) -> T:
    """Awaits ``func()`` until it succeeds, at most ``max_attempts`` times.

    Between attempts it sleeps ``base_delay * 2**n`` seconds (at most ``max_delay``),
    varied by up to ``jitter`` (a fraction in [0, 1)), and never past
    ``max_elapsed_seconds`` when given. Only ``retryable_exceptions`` (by default
    transport and cluster errors, not SQL errors) are retried, except
    ``excluded_exceptions``; an exception group is retried when all its members are.
    The last failure is raised, chained to a group of the earlier ones.

    A request cut off after it was sent whole (:class:`OutcomeUnknownError`, a
    ``DqliteConnectionError``) is not retried by default: the server may have applied it,
    and running it again would apply it twice. Pass ``excluded_exceptions`` without it
    (for example ``(ClusterPolicyError,)``) for work that is safe to run twice.
    """
    loop = asyncio.get_running_loop()
    schedule = _Schedule(
        max_attempts, base_delay, max_delay, jitter, max_elapsed_seconds, loop.time()
    )
    for attempt in range(max_attempts):
        if attempt and schedule.expired(loop.time()):
            break
        try:
            return await func()
        except BaseException as e:
            if not schedule.record(e, retryable_exceptions, excluded_exceptions):
                raise
        delay = schedule.delay(attempt, loop.time())
        if delay is None:
            break
        await asyncio.sleep(delay)
    schedule.give_up()


def retry_blocking(
    func: Callable[[], T],
    max_attempts: int,
    max_delay: float,
    max_elapsed_seconds: float | None,
    retryable_exceptions: tuple[type[BaseException], ...],
    excluded_exceptions: tuple[type[BaseException], ...],
) -> T:
    """:func:`retry_with_backoff` for a blocking ``func`` (sleeping the thread)."""
    schedule = _Schedule(max_attempts, 0.1, max_delay, 0.1, max_elapsed_seconds, time.monotonic())
    for attempt in range(max_attempts):
        if attempt and schedule.expired(time.monotonic()):
            break
        try:
            return func()
        except BaseException as e:
            if not schedule.record(e, retryable_exceptions, excluded_exceptions):
                raise
        delay = schedule.delay(attempt, time.monotonic())
        if delay is None:
            break
        time.sleep(delay)
    schedule.give_up()
