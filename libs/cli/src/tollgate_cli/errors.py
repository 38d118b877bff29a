"""What can go wrong in the CLI, and the exit code each maps to.

CliError            one line on stderr, exit 1 (or `exit_code`)
├── UsageProblem    the command line or its input is wrong: exit 2
├── Unreachable     a service did not answer (connection refused, timeout)
└── ApiError        a service answered with an error (`{"error": {"code", "message"}}`)
"""

from __future__ import annotations

EXIT_API = 1
EXIT_USAGE = 2


class CliError(Exception):
    """An expected failure, reported as one line without a traceback."""

    exit_code = EXIT_API

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))

    @property
    def message(self) -> str:
        return str(self)


class UsageProblem(CliError):
    exit_code = EXIT_USAGE


class Unreachable(CliError):
    def __init__(self, service: str, url: str, reason: str) -> None:
        super().__init__(f"cannot reach {service} at {url}: {reason}")
        self.reason = reason


class ApiError(CliError):
    def __init__(self, service: str, status: int, code: str, message: str) -> None:
        super().__init__(f"{service}: {code}: {message} (HTTP {status})")
        self.service = service
        self.status = status
        self.code = code
