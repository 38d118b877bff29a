"""Stopping: the batch in hand is finished before the cancellation goes through."""

from __future__ import annotations

import asyncio

import pytest

from tollgate_metering.adapters.bus import finish_in_hand


async def test_a_stop_finishes_the_work_in_hand_then_lets_the_cancellation_through() -> None:
    release, done = asyncio.Event(), asyncio.Event()

    async def batch() -> None:
        await release.wait()
        done.set()

    task = asyncio.create_task(finish_in_hand(batch()))
    await asyncio.sleep(0)  # one loop turn: the task starts its batch
    task.cancel()
    asyncio.get_running_loop().call_soon(release.set)
    with pytest.raises(asyncio.CancelledError):
        await task
    assert done.is_set()
