"""What each process of a stack is: its console script, its readiness URL and its environment.

Every setting follows the shared brief (`TOLLGATE_<SERVICE>_*`). The
environment handed to a child starts from the launcher's own with every
`TOLLGATE_*` variable removed, so a stray setting in the operator's shell cannot
change one service behind the stack's back.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tollgate_devstack.layout import StackPaths, StackPorts

DATABASE_SERVICES = ("auth", "keyvault", "metering")
SERVICES = ("auth", "keyvault", "metering", "proxy")


@dataclass(frozen=True)
class Database:
    """Where the stateful services keep their tables: SQLite files in the stack dir, or one PostgreSQL schema each."""

    postgres_url: str | None = None
    """A `postgresql+asyncpg://` URL; None means SQLite files under `<stack dir>/data/`."""
    schema_prefix: str = "tollgate"
    """On PostgreSQL each service gets the schema `<prefix>_<service>`."""

    @property
    def kind(self) -> str:
        return "sqlite" if self.postgres_url is None else "postgresql"

    def schema(self, service: str) -> str:
        return f"{self.schema_prefix}_{service}"

    def schemas(self) -> list[str]:
        return [self.schema(service) for service in DATABASE_SERVICES]

    def settings(self, service: str, paths: StackPaths) -> dict[str, str]:
        if self.postgres_url is None:
            return {"DATABASE_URL": paths.sqlite_url(service)}
        return {"DATABASE_URL": self.postgres_url, "DATABASE_SCHEMA": self.schema(service)}


def script(name: str) -> str:
    """A console script of this venv (beside the running interpreter, not resolved through symlinks)."""
    return str(Path(sys.executable).parent / name)


def base_env(environ: Mapping[str, str]) -> dict[str, str]:
    """The launcher's environment without any `TOLLGATE_*` variable, with unbuffered Python output for the logs."""
    env = {key: value for key, value in environ.items() if not key.startswith("TOLLGATE_")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def service_env(
    service: str,
    *,
    ports: StackPorts,
    paths: StackPaths,
    database: Database,
    log_level: str,
    access_log: bool = False,
    nats_password: str | None = None,
) -> dict[str, str]:
    """The `TOLLGATE_<SERVICE>_*` settings of one of the four services.

    With `nats_password`, the service connects as its own NATS user (named like the service); the URL carries no
    credentials, so a logged URL never leaks them."""
    settings: dict[str, str] = {
        "HOST": "127.0.0.1",
        "PORT": str(getattr(ports, service)),
        "NATS_URL": f"nats://127.0.0.1:{ports.nats}",
        **({"NATS_USER": service, "NATS_PASSWORD": nats_password} if nats_password is not None else {}),
        "LOG_LEVEL": log_level,
        "ACCESS_LOG": str(access_log).lower(),
    }
    if service != "proxy":  # the proxy has no admin API
        settings["ADMIN_KEY_FILE"] = str(paths.admin_key.resolve())
    if service in DATABASE_SERVICES:
        settings.update(database.settings(service, paths))
    # The URLs clients reach auth and the proxy at: auth's is the issuer (`iss`), the proxy's the resource (`aud`);
    # each side is told both, so the tokens auth signs are the ones the proxy expects.
    auth_url, proxy_url = f"http://127.0.0.1:{ports.auth}", f"http://127.0.0.1:{ports.proxy}"
    if service == "auth":
        settings["SIGNING_KEK_FILE"] = str(paths.signing_kek.resolve())
        settings.update({"PUBLIC_URL": auth_url, "RESOURCE": proxy_url})
    if service == "keyvault":
        settings["KEK_FILE"] = str(paths.kek.resolve())
    if service == "proxy":
        # Usage records the bus could not take yet wait here; one spool per stack.
        settings["SPOOL_DIR"] = str((paths.home / "proxy-spool").resolve())
        settings.update({"PUBLIC_URL": proxy_url, "ISSUER": auth_url})
    if service in ("keyvault", "proxy"):
        # The egress guard refuses loopback upstreams; the embedded stack allow-lists its own mock, and only it.
        settings["EGRESS_ALLOW"] = f"127.0.0.1:{ports.mock}"
    prefix = f"TOLLGATE_{service.upper()}_"
    return {prefix + key: value for key, value in settings.items()}


def mock_env(*, ports: StackPorts, api_key: str, log_level: str, access_log: bool = False) -> dict[str, str]:
    """The mock provider's settings: the one key it accepts, and its port."""
    return {
        "TOLLGATE_MOCK_HOST": "127.0.0.1",
        "TOLLGATE_MOCK_PORT": str(ports.mock),
        "TOLLGATE_MOCK_API_KEY": api_key,
        "TOLLGATE_MOCK_LOG_LEVEL": log_level,
        "TOLLGATE_MOCK_ACCESS_LOG": str(access_log).lower(),
    }
