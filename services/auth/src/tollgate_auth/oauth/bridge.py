"""Runs Authlib's synchronous server code off the event loop, and lets its hooks await auth's async storage.

`Bridge.run(fn, …)` runs `fn` in a worker thread (`anyio.to_thread.run_sync`); inside it, `Bridge.wait(coro)` hands
a coroutine to the loop (`asyncio.run_coroutine_threadsafe`) and blocks that worker thread — never the loop — until
it is done. See the package docstring for why this design.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import anyio.to_thread

T = TypeVar("T")

HOOK_TIMEOUT_SECONDS = 30.0
"""A hook waiting longer than this for the database or the bus gives up (the request fails, the thread is freed)."""


class Bridge:
    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run `fn(*args, **kwargs)` in a worker thread, where `wait` may be called."""
        self._loop = asyncio.get_running_loop()
        return await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs))

    def wait(self, coro: Coroutine[Any, Any, T]) -> T:
        """From a worker thread started by `run`: the coroutine's result, computed on the loop."""
        loop = self._loop
        if loop is None:
            coro.close()
            raise RuntimeError("Bridge.wait() outside Bridge.run()")
        if _running_loop() is loop:
            coro.close()
            raise RuntimeError("Bridge.wait() on the event loop itself would deadlock it")
        return asyncio.run_coroutine_threadsafe(coro, loop).result(HOOK_TIMEOUT_SECONDS)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
