"""Where the services are and which admin key to use.

Each value comes from the first source that has it:

1. flags: `--auth-url`, `--metering-url`, `--keyvault-url`, `--proxy-url`, `--admin-key-file`;
2. environment: `TOLLGATE_AUTH_URL`, `TOLLGATE_METERING_URL`, `TOLLGATE_KEYVAULT_URL`, `TOLLGATE_PROXY_URL`,
   `TOLLGATE_ADMIN_KEY` (the key itself), `TOLLGATE_ADMIN_KEY_FILE`, and `TOLLGATE_HOME` (a stack directory);
3. the embedded stack: `.tollgate/stack.json` and `.tollgate/admin-key` in the current directory or a parent;
4. the default localhost ports (auth 8081, metering 8082, keyvault 8083, proxy 8080).

Resolution is pure apart from reading those two files: the environment and the
current directory are arguments.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tollgate_cli.errors import CliError

STACK_DIR_NAME = ".tollgate"
SERVICES = ("auth", "metering", "keyvault", "proxy")
DEFAULT_URLS = {
    "auth": "http://127.0.0.1:8081",
    "metering": "http://127.0.0.1:8082",
    "keyvault": "http://127.0.0.1:8083",
    "proxy": "http://127.0.0.1:8080",
}


@dataclass(frozen=True)
class Flags:
    """The connection flags given on the command line (None when absent)."""

    auth_url: str | None = None
    metering_url: str | None = None
    keyvault_url: str | None = None
    proxy_url: str | None = None
    admin_key_file: Path | None = None

    def url(self, service: str) -> str | None:
        value: str | None = getattr(self, f"{service}_url")
        return value


@dataclass(frozen=True)
class Config:
    """Resolved settings. The admin key is read lazily and never shown in a repr."""

    urls: dict[str, str]
    admin_key_file: Path | None = None
    admin_key_value: str | None = field(default=None, repr=False)
    home: Path | None = None

    def url(self, service: str) -> str:
        return self.urls[service]

    def admin_key(self) -> str:
        """The admin key, or CliError saying where it was looked for."""
        if self.admin_key_value:
            return self.admin_key_value
        if self.admin_key_file is None:
            raise CliError(
                "no admin key: pass --admin-key-file, set TOLLGATE_ADMIN_KEY or TOLLGATE_ADMIN_KEY_FILE, "
                "or run from the directory where `make run` keeps .tollgate/admin-key"
            )
        try:
            key = self.admin_key_file.read_text().strip()
        except OSError as exc:
            raise CliError(f"cannot read the admin key file {self.admin_key_file}: {exc.strerror}") from exc
        if not key:
            raise CliError(f"the admin key file {self.admin_key_file} is empty")
        return key


def find_home(cwd: Path) -> Path | None:
    """The nearest `.tollgate/` (holding stack.json or admin-key) in `cwd` or a parent."""
    for directory in (cwd, *cwd.parents):
        candidate = directory / STACK_DIR_NAME
        if (candidate / "stack.json").is_file() or (candidate / "admin-key").is_file():
            return candidate
    return None


def read_stack_json(home: Path) -> dict[str, Any]:
    """The running stack's description, or {} when the stack has none (stopped)."""
    path = home / "stack.json"
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise CliError(f"{path} is not valid JSON") from exc
    if not isinstance(data, dict):
        raise CliError(f"{path} does not describe a stack")
    return data


def resolve(flags: Flags, env: Mapping[str, str], cwd: Path) -> Config:
    """Apply the precedence above."""
    home_env = env.get("TOLLGATE_HOME")
    home = Path(home_env) if home_env else find_home(cwd)
    stack = read_stack_json(home) if home is not None else {}
    urls: dict[str, str] = {}
    for service in SERVICES:
        value = flags.url(service) or env.get(f"TOLLGATE_{service.upper()}_URL") or stack.get(f"{service}_url")
        urls[service] = str(value or DEFAULT_URLS[service]).rstrip("/")

    key_value: str | None = None
    key_file: Path | None = None
    if flags.admin_key_file is not None:
        key_file = flags.admin_key_file
    elif env.get("TOLLGATE_ADMIN_KEY"):
        key_value = env["TOLLGATE_ADMIN_KEY"].strip()
    elif env.get("TOLLGATE_ADMIN_KEY_FILE"):
        key_file = Path(env["TOLLGATE_ADMIN_KEY_FILE"])
    elif home is not None:
        key_file = home / "admin-key"
    return Config(urls=urls, admin_key_file=key_file, admin_key_value=key_value, home=home)
