"""Background work owned by the lifespan: `Supervisor` (tasks that must not take each other down) and `Startup`
(named start-up steps, each retried until it succeeds).

```python
async with Supervisor() as tasks:           # in the lifespan
    tasks.spawn("usage consumer", consume)  # a factory, so a restart gets a fresh coroutine
    yield                                   # /readyz reports tasks.failure()
# leaving: every task is cancelled and awaited
```

Unlike a bare `asyncio.TaskGroup`, one crashed task neither cancels its siblings nor the app: it is logged once
with its traceback and recorded, so `/readyz` turns 503 and an orchestrator can restart the process.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Awaitable, Callable, Sequence
from types import TracebackType
from typing import Any

from tollgate_servicekit.errors import Unavailable
from tollgate_servicekit.redaction import clip, redact_text

logger = logging.getLogger(__name__)

CoroFactory = Callable[[], Awaitable[Any]]
_RECANCEL_SECONDS = 0.1


def describe(exc: BaseException) -> str:
    """`TypeName: message` for a log line or `/readyz`; our own `Unavailable` messages are used as they are,
    a foreign message is redacted (no URL credentials) and clipped."""
    if isinstance(exc, Unavailable):
        return f"{type(exc).__name__}: {exc.message}"
    text = redact_text(str(exc))
    return f"{type(exc).__name__}: {clip(text, 200)}" if text else type(exc).__name__


def frames(exc: BaseException) -> str:
    """The traceback's frames without the exception's message (which may quote a URL with a password or a
    submitted value); pair it with `describe(exc)`."""
    return "".join(traceback.format_tb(exc.__traceback__)).rstrip()


class Supervisor:
    """Runs named background tasks for as long as its `async with` block; see the module docstring."""

    def __init__(self, *, restart_after: float | None = None) -> None:
        """With `restart_after`, a crashed task is started again after that many seconds (its failure is
        reported until then); without it, a crashed task stays down and reported."""
        self._restart_after = restart_after
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._failures: dict[str, str] = {}
        self._open = False
        self._closed = False

    async def __aenter__(self) -> Supervisor:
        self._open = True
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._closed = True
        await self.stop()

    def spawn(self, name: str, factory: CoroFactory) -> asyncio.Task[None]:
        """Start `factory()` as the task `name` (names are unique while running)."""
        if not self._open or self._closed:
            raise RuntimeError("Supervisor.spawn() outside its `async with` block")
        running = self._tasks.get(name)
        if running is not None and not running.done():
            raise ValueError(f"a background task named {name!r} is already running")
        task = asyncio.create_task(self._run(name, factory), name=name)
        self._tasks[name] = task
        return task

    def failure(self) -> str | None:
        """`background task X crashed: TypeError: …` for the first task that crashed (and was not restarted)."""
        first = next(iter(self._failures.items()), None)
        return None if first is None else f"background task {first[0]} crashed: {first[1]}"

    @property
    def failures(self) -> dict[str, str]:
        """Every crashed task's name and what it raised."""
        return dict(self._failures)

    def running(self) -> list[str]:
        """The names of the tasks still running."""
        return [name for name, task in self._tasks.items() if not task.done()]

    async def stop(self) -> None:
        """Cancel every task and wait until all have finished.

        A task is cancelled again for as long as it keeps running: on Python 3.11, `asyncio.wait_for` (inside
        nats-py's request, so inside every JetStream publish) swallows a cancellation that arrives in the same
        loop iteration as its result, and the task would go back to waiting for ever.
        """
        pending = {task for task in self._tasks.values() if not task.done()}
        while pending:
            for task in pending:
                task.cancel()
            _done, pending = await asyncio.wait(pending, timeout=_RECANCEL_SECONDS)
            if pending:
                logger.debug("cancelling again: %s", ", ".join(sorted(task.get_name() for task in pending)))

    async def _run(self, name: str, factory: CoroFactory) -> None:
        while True:
            try:
                await factory()
            except Exception as exc:
                why = self._failures[name] = describe(exc)
                # The one log record for this crash, with its traceback (frames, then the redacted error).
                logger.error("background task %s crashed:\n%s\n%s", name, frames(exc), why)
                if self._restart_after is None:
                    return
                await asyncio.sleep(self._restart_after)
                logger.info("restarting background task %s", name)
                self._failures.pop(name, None)
            else:
                logger.debug("background task %s finished", name)
                return


Step = tuple[str, CoroFactory]


class Startup:
    """Runs named async steps in order; a failed step is retried every `retry_seconds` until it succeeds
    (cancel to give up). `.detail` says what it waits for, `.ready` turns true when every step is done.

    An error of a type in `fatal` (a configuration only the operator can fix: a wrong key, say) is not retried:
    `.detail` names it and `run()` raises it, so under a `Supervisor` it is logged once and fails `/readyz`.
    """

    def __init__(
        self, steps: Sequence[Step], *, retry_seconds: float = 1.0, fatal: tuple[type[Exception], ...] = ()
    ) -> None:
        self._steps = tuple(steps)
        self._retry_seconds = retry_seconds
        self._fatal = fatal
        self.ready = False
        self.detail = "not started"

    async def run(self) -> None:
        for name, step in self._steps:
            await self._run_step(name, step)
        self.ready = True
        self.detail = "ready"

    async def _run_step(self, name: str, step: CoroFactory) -> None:
        self.detail = f"waiting for {name}"
        attempt = 0
        seen: set[type[BaseException]] = set()
        while True:
            attempt += 1
            try:
                await step()
            except Exception as exc:
                why = describe(exc)
                if isinstance(exc, self._fatal):
                    self.detail = f"{name} failed for good ({why})"
                    raise
                self.detail = f"waiting for {name} ({why})"
                if isinstance(exc, Unavailable) or type(exc) in seen:
                    logger.warning("start-up step %r failed (attempt %d), retrying: %s", name, attempt, why)
                else:
                    # An unexpected error: its traceback once, then one line per retry.
                    seen.add(type(exc))
                    logger.warning(
                        "start-up step %r failed (attempt %d), retrying: %s\n%s", name, attempt, why, frames(exc)
                    )
                await asyncio.sleep(self._retry_seconds)
            else:
                if attempt > 1:
                    logger.info("start-up step %r succeeded after %d attempts", name, attempt)
                return
