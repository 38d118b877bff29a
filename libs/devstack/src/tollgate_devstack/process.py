"""One child process of a stack: spawned with its own environment and log file, awaited until ready, stopped.

Children are started by `tollgate_servicekit.processes.spawn`: in a process
group of their own, so a Ctrl-C on the terminal reaches only the launcher, which
then stops them in order; on Linux each child also asks the kernel for SIGTERM
when the launcher dies, so a killed launcher leaves no orphans holding ports.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tollgate_servicekit.processes import spawn
from tollgate_servicekit.redaction import redact_text


class StackError(RuntimeError):
    """A process of the stack failed to start, died, or the bootstrap failed. The message says which and why."""


def log_size(path: Path) -> int:
    """The size of a log file now (0 when there is none): where the output of a process started next begins."""
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def log_tail(path: Path, lines: int = 30, hide: Iterable[str] = (), since: int = 0) -> str:
    """The last `lines` lines of a log file written after byte `since`, or a note that there are none.

    Every value in `hide` (the stack's own secrets) and any credential in a URL is masked: a tail goes to the
    operator's terminal, and a service that once logged a secret must not have it repeated there."""
    try:
        with path.open("rb") as log:
            log.seek(since)
            text = log.read().decode(errors="replace")
    except FileNotFoundError:
        return f"(no log at {path})"
    tail = text.splitlines()[-lines:]
    if not tail:
        return f"(nothing in {path})"
    shown = redact_text("\n".join(tail))
    for secret in hide:
        if secret:
            shown = shown.replace(secret, "[redacted]")
    return shown


def describe_exit(returncode: int) -> str:
    """`exited with code 3`, or `was killed by SIGKILL` (Popen reports a signal as a negative code)."""
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"was killed by {name}"
    return f"exited with code {returncode}"


@dataclass
class ChildProcess:
    """A named child process with an optional HTTP readiness URL."""

    name: str
    argv: Sequence[str]
    env: Mapping[str, str]
    log_path: Path
    ready_url: str | None = None
    cwd: Path | None = None
    """Working directory; the stack dir, so any relative default path of a service lands inside it."""
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    log_offset: int = field(default=0, repr=False)
    """Where the current run's output begins in `log_path` (a restarted process appends to the same file)."""

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid

    def start(self) -> None:
        self.log_offset = log_size(self.log_path)
        try:
            self.process = spawn(self.argv, self.env, self.log_path, self.cwd)
        except OSError as exc:
            raise StackError(f"{self.name} could not be started ({self.argv[0]}): {exc.strerror or exc}") from exc

    def exit_code(self) -> int | None:
        """The exit code once the process has ended, else None."""
        return None if self.process is None else self.process.poll()

    def restart(self) -> None:
        """Start again after the process ended (its exit code already collected)."""
        if self.process is not None and self.process.poll() is None:
            raise StackError(f"{self.name} is still running (pid {self.process.pid})")
        self.process = None
        self.start()

    def is_ready(self, client: httpx.Client, timeout: float = 1.0) -> bool:
        """One look at `ready_url` (True when there is none): 200 while the process runs."""
        if self.process is None or self.process.poll() is not None:
            return False
        if self.ready_url is None:
            return True
        try:
            return client.get(self.ready_url, timeout=timeout).status_code == 200
        except httpx.HTTPError:
            return False

    def failure(self, reason: str, hide: Iterable[str] = ()) -> StackError:
        tail = log_tail(self.log_path, hide=hide, since=self.log_offset)
        return StackError(f"{self.name} {reason}; last lines of {self.log_path}:\n{tail}")

    def wait_ready(self, timeout: float, client: httpx.Client) -> None:
        """Poll `ready_url` until it answers 200; StackError naming this process if it dies or time runs out."""
        if self.process is None:
            raise StackError(f"{self.name} was never started")
        if self.ready_url is None:
            return
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        while True:
            code = self.process.poll()
            if code is not None:
                raise self.failure(f"{describe_exit(code)} before it was ready")
            try:
                response = client.get(self.ready_url, timeout=2.0)
            except httpx.HTTPError as exc:
                last = f"{type(exc).__name__}"
            else:
                if response.status_code == 200:
                    return
                last = f"HTTP {response.status_code} {response.text[:300]}"
            if time.monotonic() >= deadline:
                raise self.failure(f"was not ready within {timeout:.0f}s (last {self.ready_url}: {last})")
            time.sleep(0.05)

    def terminate(self) -> None:
        """Send SIGTERM (no wait)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def wait_or_kill(self, deadline: float) -> None:
        """Wait until `deadline` (monotonic) for the process to end, then SIGKILL it (its whole group)."""
        if self.process is None:
            return
        try:
            self.process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.process = None


def stop_all(children: Sequence[ChildProcess], timeout: float = 10.0) -> None:
    """SIGTERM every child at once, wait up to `timeout` for all of them, SIGKILL the stragglers."""
    for child in children:
        child.terminate()
    deadline = time.monotonic() + timeout
    for child in children:
        child.wait_or_kill(deadline)
