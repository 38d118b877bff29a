"""Helpers for tests that drive a running stack from outside: the `tollgate` CLI as a subprocess, secret scans.

Imported by test suites (the CLI's and tests/e2e), never by the stack itself.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from tollgate_devstack.services import base_env, script

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
    runs: list[CliRun] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        env = base_env(os.environ)
        if self.home is not None:
            env["TOLLGATE_HOME"] = str(self.home)
        return env

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


def poll(read: Callable[[], T], done: Callable[[T], bool], timeout: float = 30.0, interval: float = 0.1) -> T:
    """Call `read` until `done(value)`; the last value either way (the caller asserts on it)."""
    deadline = time.monotonic() + timeout
    value = read()
    while not done(value) and time.monotonic() < deadline:
        time.sleep(interval)
        value = read()
    return value


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
