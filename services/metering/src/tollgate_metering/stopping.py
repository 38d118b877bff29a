"""Waiting for work unless a stop is requested first."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


async def unless_stopped(work: Awaitable[T], stop: asyncio.Event) -> T | None:
    """The result of `work`, or None if `stop` is set first (`work` is then cancelled). Failures propagate."""
    task = asyncio.ensure_future(work)
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for pending in (task, stopping):
            pending.cancel()
        await asyncio.gather(task, stopping, return_exceptions=True)
    return None if task.cancelled() else task.result()


async def sleep_unless_stopped(delay: float, stop: asyncio.Event) -> None:
    """Sleep `delay` seconds, or less if `stop` is set meanwhile."""
    try:
        await asyncio.wait_for(stop.wait(), delay)
    except TimeoutError:
        return
