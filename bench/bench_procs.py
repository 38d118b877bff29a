"""Child processes the benchmark starts and always stops: each in its own process group, output to a log file."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path

from tollgate_servicekit.processes import spawn
from tollgate_servicekit.tcp import free_port


def venv_script(name: str) -> str:
    """A console script installed beside this interpreter (the workspace venv)."""
    return str(Path(sys.executable).parent / name)


class Child:
    """One child process; `stop()` sends SIGTERM, then SIGKILL to its group after `grace` seconds."""

    def __init__(self, name: str, argv: Sequence[str], log_path: Path, env: Mapping[str, str] | None = None) -> None:
        self.name = name
        self.log_path = log_path
        # Its own process group, and SIGTERM from Linux when the benchmark dies, so even a SIGKILLed run leaves no
        # nginx or mock provider holding a port (safe: the benchmark starts its children from one thread).
        self.process = spawn(argv, os.environ if env is None else env, log_path)

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, grace: float = 10.0) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"


def wait_http_ok(url: str, child: Child | None = None, timeout: float = 30.0) -> None:
    """Poll `url` until it answers 200; RuntimeError when the child dies or time runs out."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if child is not None and not child.alive():
            raise RuntimeError(f"{child.name} exited early:\n{child.log_tail()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own loopback URL
                if response.status == 200:
                    return
                last = f"HTTP {response.status}"
        except (urllib.error.URLError, OSError) as exc:
            last = str(exc)
        time.sleep(0.05)
    raise RuntimeError(f"{url} was not ready within {timeout:.0f}s ({last})")


def start_mock(workdir: Path, api_key: str) -> tuple[Child, str]:
    """A standalone mock provider (when the whole stack is not wanted); returns it and its base URL."""
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("TOLLGATE_")}
    env |= {"TOLLGATE_MOCK_PORT": str(port), "TOLLGATE_MOCK_API_KEY": api_key, "TOLLGATE_MOCK_LOG_LEVEL": "WARNING"}
    child = Child("mock provider", [venv_script("tollgate-mock-provider")], workdir / "mock.log", env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http_ok(f"{url}/readyz", child)
    except BaseException:
        child.stop()
        raise
    return child, url
