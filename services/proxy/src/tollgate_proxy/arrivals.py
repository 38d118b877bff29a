"""Waiting, briefly and without polling, for a piece of state the bus has not delivered yet.

A script that creates a grant, mints a token and calls the proxy at once can
beat the grant's state event to the proxy. A request whose token verified (so
auth issued it) waits here for its grant, or for the signing key of an unknown
`kid`, for a bounded time: one `asyncio.Event` per awaited id, set by the cache
when that id arrives. Everyone waiting for the same id shares the event, and
the number of ids awaited at once and the number of requests waiting in all
are capped, so a flood of requests for ids that never come (or for one id)
costs bounded memory, and past the caps a request is refused at once.
"""

from __future__ import annotations

import asyncio

MAX_AWAITED = 10_000
"""Ids awaited at once; past it a request is refused at once rather than queued."""
MAX_WAITERS = 10_000
"""Requests waiting at once, for any id; past it a request is refused at once."""


class _Wait:
    __slots__ = ("event", "waiters")

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self.waiters = 0


class Arrivals:
    """Events per awaited id: `wait(id, within)` until `arrived(id)` is called."""

    def __init__(self, max_awaited: int = MAX_AWAITED, max_waiters: int = MAX_WAITERS) -> None:
        self._waits: dict[str, _Wait] = {}
        self._max = max_awaited
        self._max_waiters = max_waiters
        self._waiting = 0

    def __len__(self) -> int:
        return len(self._waits)

    def arrived(self, key: str) -> None:
        """Wake everyone waiting for `key` (no-op when no one is)."""
        wait = self._waits.pop(key, None)
        if wait is not None:
            wait.event.set()

    async def wait(self, key: str, within: float) -> bool:
        """True when `key` arrived within `within` seconds; False on timeout or when too many ids are awaited.

        The caller checks its state before calling and looks again after a True: nothing is awaited between its
        check and the registration here, so an arrival cannot slip between them.
        """
        if self._waiting >= self._max_waiters:
            return False
        wait = self._waits.get(key)
        if wait is None:
            if len(self._waits) >= self._max:
                return False
            wait = self._waits[key] = _Wait()
        wait.waiters += 1
        self._waiting += 1
        try:
            async with asyncio.timeout(within):
                await wait.event.wait()
        except TimeoutError:
            return False
        finally:
            wait.waiters -= 1
            self._waiting -= 1
            if wait.waiters == 0 and self._waits.get(key) is wait:
                del self._waits[key]
        return True
