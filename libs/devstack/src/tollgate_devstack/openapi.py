"""`docs/openapi/<service>.json`: the HTTP APIs of auth, keyvault and metering as their apps declare them.

`make openapi` writes them; a test fails when a checked-in copy is stale. Each app is built but never started
(no lifespan, so no database, bus or file is touched); the secrets its constructor insists on are throwaway
values that exist only in this process. The proxy is raw ASGI with the OpenAI and Anthropic shapes: those APIs
are documented by their providers, not here.
"""

from __future__ import annotations

import base64
import json
import secrets
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI

SERVICES = ("auth", "keyvault", "metering")


def _throwaway_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()


def _unused_database() -> str:
    # Never opened (no lifespan runs); a private directory keeps the apps' own checks on it quiet.
    return f"sqlite+aiosqlite:///{tempfile.mkdtemp(prefix='tollgate-openapi-')}/unused.db"


def _auth() -> FastAPI:
    from tollgate_auth.app import create_app
    from tollgate_auth.settings import Settings

    return create_app(
        Settings(admin_key=secrets.token_urlsafe(32), signing_kek=_throwaway_key(), database_url=_unused_database())
    )


def _keyvault() -> FastAPI:
    from tollgate_keyvault.app import create_app
    from tollgate_keyvault.settings import Settings

    return create_app(
        Settings(admin_key=secrets.token_urlsafe(32), kek=_throwaway_key(), database_url=_unused_database())
    )


def _metering() -> FastAPI:
    from tollgate_metering.app import create_app
    from tollgate_metering.settings import Settings

    return create_app(Settings(admin_key=secrets.token_urlsafe(32), database_url=_unused_database()))


BUILDERS: dict[str, Callable[[], FastAPI]] = {"auth": _auth, "keyvault": _keyvault, "metering": _metering}


def document(service: str) -> dict[str, Any]:
    """The OpenAPI document of one service's app."""
    return BUILDERS[service]().openapi()


def render(service: str) -> str:
    """The checked-in file's text: sorted keys, so a diff shows what changed and nothing else."""
    return json.dumps(document(service), indent=2, sort_keys=True) + "\n"


def write_all(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for service in SERVICES:
        (directory / f"{service}.json").write_text(render(service))


if __name__ == "__main__":
    write_all(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/openapi"))
