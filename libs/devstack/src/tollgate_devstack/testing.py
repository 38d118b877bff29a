"""Helpers for tests that drive a running stack from outside: `tollgate-dev` and the `tollgate` CLI as
subprocesses, secret scans.

Imported by test suites (the CLI's and tests/e2e), never by the stack itself.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from tollgate_devstack.layout import HOME_ENV_VAR, PORT_ENV_VARS, StackPorts
from tollgate_devstack.services import base_env, script
from tollgate_servicekit.testing import eventually

if TYPE_CHECKING:
    import anthropic
    import openai

T = TypeVar("T")


@dataclass(frozen=True)
class CliRun:
    """One finished `tollgate` invocation."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


@dataclass
class Cli:
    """Runs `.venv/bin/tollgate …` as a subprocess and keeps every output for scanning.

    With `home`, TOLLGATE_HOME points at that stack dir; without, the CLI finds `.tollgate/` from `cwd`.
    """

    home: Path | None = None
    cwd: Path | None = None
    extra_env: Mapping[str, str] = field(default_factory=dict)
    """Set after the rest, e.g. `TOLLGATE_AUTH_URL`, so a CLI never falls back to the default ports."""
    runs: list[CliRun] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        env = base_env(os.environ)
        if self.home is not None:
            env["TOLLGATE_HOME"] = str(self.home)
        return env | dict(self.extra_env)

    def run(self, *args: str, stdin: str | None = None) -> CliRun:
        completed = subprocess.run(
            [script("tollgate"), *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=self.env(),
            cwd=self.cwd,
            timeout=120,
            check=False,
        )
        result = CliRun(tuple(args), completed.returncode, completed.stdout, completed.stderr)
        self.runs.append(result)
        return result

    def json(self, *args: str, stdin: str | None = None) -> Any:
        """Run with `--json` appended and return the decoded answer; AssertionError with stderr on failure."""
        result = self.run(*args, "--json", stdin=stdin)
        assert result.returncode == 0, f"tollgate {' '.join(args)} exited {result.returncode}: {result.stderr}"
        return result.json()

    def usage_once(self, grant_id: str, requests: int = 1, timeout: float = 30.0) -> Any:
        """`tollgate usage` once metering has counted at least `requests` (it records asynchronously)."""

        def counted() -> Any:
            usage = self.json("usage", grant_id)
            return usage if usage["requests"] >= requests else None

        return eventually_sync(counted, timeout=timeout, what=f"{requests} request(s) counted for {grant_id}")


@dataclass
class DevRun:
    """A running `tollgate-dev` (what `make run` runs) in `cwd`, on `ports` given through the
    `TOLLGATE_DEV_*_PORT` overrides; its stdout is collected line by line by a reader thread.

    It runs in a session of its own, as a terminal's foreground job would: `interrupt()` is a Ctrl-C.
    `argv` and `run_in` run it another way (`make run` in the repository), its stack dir still `cwd/.tollgate`.
    """

    process: subprocess.Popen[str]
    cwd: Path
    ports: StackPorts
    stderr_path: Path
    lines: list[str] = field(default_factory=list)
    done: threading.Event = field(default_factory=threading.Event)

    @classmethod
    def start(
        cls,
        cwd: Path,
        ports: StackPorts | None = None,
        env: Mapping[str, str] | None = None,
        argv: Sequence[str] | None = None,
        run_in: Path | None = None,
    ) -> DevRun:
        ports = ports if ports is not None else StackPorts.free()
        full_env = base_env(os.environ) | {PORT_ENV_VARS[name]: str(port) for name, port in ports.items()}
        if run_in is not None:
            full_env[HOME_ENV_VAR] = str(cwd / ".tollgate")
        stderr_path = cwd / "tollgate-dev.stderr"
        with stderr_path.open("w") as stderr:
            process = subprocess.Popen(
                list(argv) if argv is not None else [script("tollgate-dev")],
                cwd=run_in or cwd,
                env=full_env | dict(env or {}),
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                start_new_session=True,
            )
        run = cls(process, cwd, ports, stderr_path)
        threading.Thread(target=run._read, daemon=True).start()
        return run

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)
        self.done.set()

    @property
    def home(self) -> Path:
        return self.cwd / ".tollgate"

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{getattr(self.ports, name)}"

    def cli_env(self) -> dict[str, str]:
        """The service URLs for a CLI, so it never reaches a stack on the default ports."""
        return {f"TOLLGATE_{name.upper()}_URL": self.url(name) for name in ("auth", "metering", "keyvault", "proxy")}

    def text(self) -> str:
        return "".join(self.lines)

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def report(self) -> str:
        return f"exit code {self.process.poll()};\nstdout:\n{self.text()}\nstderr:\n{self.stderr()}"

    def printed(self, wanted: str) -> bool:
        return any(line.strip() == wanted for line in self.lines)

    def wait_for_line(self, wanted: str, timeout: float) -> str:
        """All stdout so far once a line equal to `wanted` was printed; AssertionError if it never is."""
        try:
            eventually_sync(lambda: self.done.is_set() or self.printed(wanted), timeout=timeout, interval=0.05)
        except AssertionError:
            raise AssertionError(f"tollgate-dev did not print {wanted!r} in {timeout:g}s ({self.report()})") from None
        if not self.printed(wanted):
            raise AssertionError(f"tollgate-dev ended without printing {wanted!r} ({self.report()})")
        return self.text()

    def interrupt(self, timeout: float = 60.0) -> int:
        """Ctrl-C (SIGINT to its process group); the exit code."""
        os.killpg(self.process.pid, signal.SIGINT)
        return self.process.wait(timeout=timeout)

    def close(self) -> None:
        """SIGKILL whatever is left of it (its children die with it) and close its stdout."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.done.wait(timeout=10)
        assert self.process.stdout is not None
        self.process.stdout.close()

    def __enter__(self) -> DevRun:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def eventually_sync(
    predicate: Callable[[], T | None],
    *,
    timeout: float = 30.0,
    interval: float = 0.1,
    what: str = "condition",
    ignore: tuple[type[Exception], ...] = (),
) -> T:
    """servicekit's `eventually()` (the one bounded wait) for the tests that run no event loop: those that drive
    the stack from outside through subprocesses and blocking clients. The first truthy value; AssertionError
    naming `what` on timeout."""
    result: T = asyncio.run(eventually(predicate, timeout=timeout, interval=interval, what=what, ignore=ignore))
    return result


def secret_variants(name: str, value: str) -> dict[str, str]:
    """The secret and, for a JWT, its signature alone (a token logged in part is still a leak)."""
    variants = {name: value}
    parts = value.split(".")
    if len(parts) == 3 and all(parts):
        variants[f"{name} (signature)"] = parts[2]
    return variants


def find_secrets(texts: Mapping[str, str], secrets: Mapping[str, str]) -> list[str]:
    """`"<secret name> in <where>"` for each secret found in each text."""
    expanded: dict[str, str] = {}
    for name, value in secrets.items():
        expanded |= secret_variants(name, value)
    return [
        f"{name} in {where}"
        for where, text in texts.items()
        for name, value in expanded.items()
        if value and value in text
    ]


def read_texts(paths: Iterable[Path]) -> dict[str, str]:
    """Each file's text by path (undecodable bytes replaced), for `find_secrets`."""
    return {str(path): path.read_text(errors="replace") for path in paths if path.is_file()}


@dataclass
class Sdk:
    """Official openai and anthropic SDK clients pointed at a proxy, closed together (use as a context manager).

    The SDKs are test dependencies, imported only when a client is made.
    """

    proxy_url: str
    clients: list[openai.OpenAI | anthropic.Anthropic] = field(default_factory=list)

    def openai(self, key: str) -> openai.OpenAI:
        import openai

        client = openai.OpenAI(base_url=f"{self.proxy_url}/v1", api_key=key, max_retries=0)
        self.clients.append(client)
        return client

    def anthropic(self, key: str) -> anthropic.Anthropic:
        import anthropic

        # The anthropic SDK appends /v1/messages itself: its base_url has no /v1.
        client = anthropic.Anthropic(base_url=self.proxy_url, api_key=key, max_retries=0)
        self.clients.append(client)
        return client

    def __enter__(self) -> Sdk:
        return self

    def __exit__(self, *exc: object) -> None:
        for client in self.clients:
            client.close()
        self.clients.clear()
