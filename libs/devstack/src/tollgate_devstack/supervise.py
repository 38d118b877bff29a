"""Keeps a started stack up: a process that dies is restarted with back-off, and the launcher gives up only when
one keeps crashing.

    supervisor = Supervisor.for_stack(stack)
    supervisor.run()        # until a signal unwinds it, or GaveUp (a StackError) when a process keeps crashing

Each death is logged with its cause (exit code or signal) and the last lines of the process's own log, with the
stack's secrets masked. The first restart waits `first_delay`, each further one twice as long up to `max_delay`;
a process that stayed up `stable_after` seconds starts the back-off over. `max_crashes` deaths of one process
within `window` seconds stop the stack: a service that cannot start (a broken setting, a corrupt file) is then
reported once, clearly, instead of being restarted forever.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn, Protocol

import httpx

from tollgate_devstack.process import StackError, describe_exit, log_size, log_tail
from tollgate_devstack.stack import Stack
from tollgate_servicekit.natsserver import NatsServer

logger = logging.getLogger("tollgate-dev")


class GaveUp(StackError):
    """A process kept crashing; the message says which, how often and why, with the tail of its log."""


class Watched(Protocol):
    """What the supervisor needs of a process: its name and log, whether it ended, a way to start it again."""

    @property
    def name(self) -> str: ...

    @property
    def log_path(self) -> Path: ...

    @property
    def log_offset(self) -> int:
        """Where the current run's output begins in the log."""
        ...

    def exit_code(self) -> int | None: ...

    def restart(self) -> None: ...

    def is_ready(self, client: httpx.Client, timeout: float = 1.0) -> bool: ...


@dataclass(frozen=True)
class RestartPolicy:
    first_delay: float = 0.5
    max_delay: float = 10.0
    max_crashes: int = 5
    window: float = 60.0
    stable_after: float = 30.0
    tick: float = 0.2
    """How often the processes are looked at."""


@dataclass
class WatchedNats:
    """The bus as a watched process (nats-server is no ChildProcess: it writes its config and waits for its port)."""

    nats: NatsServer
    log_path: Path
    name: str = "nats-server"
    log_offset: int = 0

    def exit_code(self) -> int | None:
        process = self.nats.process
        return None if process is None else process.poll()

    def restart(self) -> None:
        self.log_offset = log_size(self.log_path)
        self.nats.process = None
        try:
            self.nats.start()
        except (TimeoutError, OSError) as exc:
            raise StackError(f"nats-server could not be restarted: {exc}") from exc

    def is_ready(self, client: httpx.Client, timeout: float = 1.0) -> bool:
        return self.exit_code() is None and self.nats.process is not None


@dataclass
class _State:
    unit: Watched
    delay: float
    started_at: float
    crashes: deque[float] = field(default_factory=deque)
    restart_at: float | None = None
    """Set while the process is down and waiting for its next start."""
    awaiting_ready: bool = False


class Supervisor:
    def __init__(
        self,
        units: Iterable[Watched],
        *,
        policy: RestartPolicy | None = None,
        hide: Callable[[], Iterable[str]] = tuple,
        on_restart: Callable[[], None] = lambda: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.policy = policy or RestartPolicy()
        self._hide = hide
        self._on_restart = on_restart
        self._clock = clock
        now = clock()
        self._states = [_State(unit, self.policy.first_delay, now) for unit in units]
        self.restarts: dict[str, int] = {state.unit.name: 0 for state in self._states}
        """How often each process was started again (for tests and the log)."""

    @classmethod
    def for_stack(cls, stack: Stack, policy: RestartPolicy | None = None) -> Supervisor:
        """Every process of a started stack: the bus, the four services and the mock provider."""
        units: list[Watched] = []
        if stack.nats is not None:
            units.append(WatchedNats(stack.nats, stack.paths.log("nats")))
        units.extend(stack.children)
        return cls(units, policy=policy, hide=lambda: _stack_secrets(stack), on_restart=stack.write_stack_json)

    def run(self) -> NoReturn:
        """Look after the processes until a signal unwinds this loop or GaveUp is raised."""
        with httpx.Client() as client:
            while True:
                self.check(client)
                time.sleep(self.policy.tick)

    def check(self, client: httpx.Client) -> None:
        """One look at every process: note deaths, start those whose back-off is over, log recoveries."""
        for state in self._states:
            now = self._clock()
            if state.restart_at is not None:
                if now >= state.restart_at:
                    self._restart(state, now)
                continue
            code = state.unit.exit_code()
            if code is not None:
                self._crashed(state, now, describe_exit(code))
            elif state.awaiting_ready and state.unit.is_ready(client):
                state.awaiting_ready = False
                logger.info("%s is ready again", state.unit.name)

    def _restart(self, state: _State, now: float) -> None:
        name = state.unit.name
        try:
            state.unit.restart()
        except StackError as exc:
            self._crashed(state, now, f"could not be started again ({exc})")
            return
        state.restart_at = None
        state.started_at = now
        state.awaiting_ready = True
        self.restarts[name] += 1
        logger.info("%s restarted (restart %d)", name, self.restarts[name])
        self._on_restart()

    def _crashed(self, state: _State, now: float, why: str) -> None:
        policy = self.policy
        name = state.unit.name
        if now - state.started_at >= policy.stable_after:
            state.delay = policy.first_delay  # it ran well for a while: this is a new incident
        state.crashes.append(now)
        while state.crashes and now - state.crashes[0] > policy.window:
            state.crashes.popleft()
        tail = log_tail(state.unit.log_path, lines=20, hide=self._hide(), since=state.unit.log_offset)
        if len(state.crashes) >= policy.max_crashes:
            raise GaveUp(
                f"{name} keeps crashing ({len(state.crashes)} times within {policy.window:.0f}s, the last time it "
                f"{why}); stopping the stack. Last lines of {state.unit.log_path}:\n{tail}"
            )
        logger.warning(
            "%s %s; restarting it in %.1fs. Last lines of %s:\n%s", name, why, state.delay, state.unit.log_path, tail
        )
        state.restart_at = now + state.delay
        state.awaiting_ready = False
        state.delay = min(state.delay * 2, policy.max_delay)


def _stack_secrets(stack: Stack) -> list[str]:
    """The stack's own secrets, to mask in a log tail (read at the time: never kept in the supervisor)."""
    values: list[str] = []
    for path in (stack.paths.admin_key, stack.paths.mock_key):
        try:
            values.append(path.read_text().strip())
        except OSError:
            continue
    return values
