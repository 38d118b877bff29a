"""The supervisor keeps siblings alive when one task crashes, and says so; start-up steps retry."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import pytest

from tollgate_servicekit.errors import StoreUnavailable
from tollgate_servicekit.supervisor import Startup, Supervisor
from tollgate_servicekit.testing import eventually


async def test_a_crashed_task_is_logged_once_and_reported_while_the_others_continue(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ticks = 0

    async def steady() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.005)

    async def broken() -> None:
        await asyncio.sleep(0.01)
        raise TypeError("unsupported operand")

    async with Supervisor() as tasks:
        assert tasks.failure() is None
        tasks.spawn("steady", steady)
        tasks.spawn("usage consumer", broken)
        await eventually(tasks.failure, what="the crash to be recorded")
        assert tasks.failure() == "background task usage consumer crashed: TypeError: unsupported operand"
        before = ticks
        await eventually(lambda: ticks > before + 3, what="the sibling to keep running")
        assert tasks.running() == ["steady"]
    crashes = [r for r in caplog.records if "crashed" in r.getMessage()]
    assert len(crashes) == 1
    assert crashes[0].levelno == logging.ERROR
    assert "in broken" in crashes[0].getMessage()  # the traceback's frames
    assert crashes[0].getMessage().endswith("TypeError: unsupported operand")
    assert tasks.running() == []


async def test_a_task_whose_cancellation_was_swallowed_is_cancelled_again() -> None:
    # Python 3.11's wait_for loses a cancellation that arrives with its result (nats-py waits for a PubAck so).
    acked: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    waiting = asyncio.Event()

    async def publisher() -> None:
        waiting.set()
        with contextlib.suppress(asyncio.CancelledError):  # swallowed, as wait_for does in that race
            await acked
        await asyncio.Event().wait()  # back to waiting for work

    async with Supervisor() as tasks:
        task = tasks.spawn("seal audits", publisher)
        await waiting.wait()
    assert task.cancelled()


async def test_leaving_the_block_cancels_and_awaits_every_task() -> None:
    cleaned = asyncio.Event()

    async def forever() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            cleaned.set()

    async with Supervisor() as tasks:
        task = tasks.spawn("forever", forever)
        await asyncio.sleep(0)
    assert task.cancelled() and cleaned.is_set()
    with pytest.raises(RuntimeError, match="outside"):
        tasks.spawn("late", forever)


async def test_restart_after_starts_a_crashed_task_again() -> None:
    runs = 0

    async def once_broken() -> None:
        nonlocal runs
        runs += 1
        if runs == 1:
            raise RuntimeError("first run fails")
        await asyncio.Event().wait()

    async with Supervisor(restart_after=0.01) as tasks:
        tasks.spawn("follower", once_broken)
        await eventually(lambda: runs == 2, what="the restart")
        assert tasks.failure() is None


async def test_duplicate_running_names_are_refused() -> None:
    async with Supervisor() as tasks:
        tasks.spawn("x", asyncio.Event().wait)
        with pytest.raises(ValueError, match="already running"):
            tasks.spawn("x", asyncio.Event().wait)


async def test_startup_retries_a_failed_step_then_runs_the_rest(caplog: pytest.LogCaptureFixture) -> None:
    order: list[str] = []
    db_attempts = 0

    async def database() -> None:
        nonlocal db_attempts
        db_attempts += 1
        order.append("database")
        if db_attempts < 3:
            raise StoreUnavailable("database unavailable: OperationalError")

    async def bus() -> None:
        order.append("bus")

    startup = Startup([("database", database), ("bus", bus)], retry_seconds=0.01)
    assert not startup.ready
    await startup.run()
    assert startup.ready and startup.detail == "ready"
    assert order == ["database", "database", "database", "bus"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert "'database'" in warnings[0] and "StoreUnavailable: database unavailable" in warnings[0]


async def test_startup_detail_says_what_it_waits_for_and_never_a_secret(caplog: pytest.LogCaptureFixture) -> None:
    password = "hunter2-" + "password"  # not spelled out on the line the traceback quotes

    async def connect() -> None:
        raise ConnectionRefusedError(f"connect to nats://svc:{password}@127.0.0.1:4222 refused")

    startup = Startup([("the event bus", connect)], retry_seconds=0.01)
    running = asyncio.create_task(startup.run())
    await eventually(lambda: "ConnectionRefusedError" in startup.detail, what="the detail to name the error")
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    assert startup.detail.startswith("waiting for the event bus (ConnectionRefusedError: connect to nats://***@")
    assert not startup.ready
    assert "hunter2" not in caplog.text and "hunter2" not in startup.detail
    # An unexpected error shows its traceback once, not on every retry.
    assert sum(1 for r in caplog.records if "in connect" in r.getMessage()) == 1


async def test_a_fatal_startup_error_is_not_retried_and_fails_readiness_under_the_supervisor(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class WrongKey(Exception):
        pass

    attempts = 0

    async def unlock() -> None:
        nonlocal attempts
        attempts += 1
        raise WrongKey("the stored key does not decrypt with this KEK")

    async def never() -> None:
        raise AssertionError("a step after a fatal one must not run")

    startup = Startup([("the database", unlock), ("the bus", never)], retry_seconds=0.01, fatal=(WrongKey,))
    async with Supervisor() as tasks:
        tasks.spawn("start-up", startup.run)
        failure = await eventually(tasks.failure, what="the start-up to crash")
    assert attempts == 1 and not startup.ready
    assert failure == "background task start-up crashed: WrongKey: the stored key does not decrypt with this KEK"
    assert startup.detail == "the database failed for good (WrongKey: the stored key does not decrypt with this KEK)"
    assert not [r for r in caplog.records if r.levelno == logging.WARNING and "retrying" in r.getMessage()]
