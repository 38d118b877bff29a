"""Fakes of the ports and the one bounded-wait helper, for every service's tests (no server, no extra needed)."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

DEFAULT_NOW = datetime(2026, 1, 1, tzinfo=UTC)


class FixedClock:
    """A `Clock` that stands still until told to move."""

    def __init__(self, now: datetime = DEFAULT_NOW) -> None:
        if now.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self._now = now.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> datetime:
        """Move forward `seconds` (may be fractional); returns the new time."""
        self._now += timedelta(seconds=seconds)
        return self._now

    def set(self, now: datetime) -> None:
        if now.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self._now = now.astimezone(UTC)


class SequentialIds:
    """`Ids` counting up: `grt_00000000000000000000000001`, … (same shape and order as real ids);
    secrets `secret-1`, `secret-2`, …"""

    def __init__(self) -> None:
        self._next_id = 0
        self._next_secret = 0

    def new_id(self, prefix: str) -> str:
        self._next_id += 1
        return f"{prefix}_{self._next_id:026d}"

    def new_secret(self) -> str:
        self._next_secret += 1
        return f"secret-{self._next_secret}"


async def eventually(
    predicate: Callable[[], Any] | Callable[[], Awaitable[Any]],
    *,
    timeout: float = 10.0,  # noqa: ASYNC109 - the bound is the point of this helper
    interval: float = 0.02,
    what: str = "condition",
    ignore: tuple[type[Exception], ...] = (),
) -> Any:
    """Poll `predicate` (sync or async) until it returns something truthy, and return that.

    `timeout` only bounds a broken test; it asserts nothing about speed. Exceptions of the types in `ignore`
    count as "not yet" (a server still starting); others propagate. On timeout: AssertionError naming `what`,
    the last value seen and the last ignored error.
    """
    deadline = time.monotonic() + timeout
    last: Any = None
    error: Exception | None = None
    while True:
        try:
            last = predicate()
            if inspect.isawaitable(last):
                last = await last
            error = None
        except ignore as exc:
            last, error = None, exc
        if last:
            return last
        if time.monotonic() >= deadline:
            seen = f"; last error {type(error).__name__}: {error}" if error else f"; last value {last!r}"
            raise AssertionError(f"gave up after {timeout:g}s waiting for {what}{seen}")
        await asyncio.sleep(interval)
