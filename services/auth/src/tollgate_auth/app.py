"""`create_app(settings)`: the FastAPI application; its lifespan owns every resource and background task."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import version

from fastapi import FastAPI

from tollgate_auth.adapters.kek import load_signing_keyring
from tollgate_auth.api import grants, public, requests, signing_keys, tenants, users
from tollgate_auth.domain.errors import Conflict, InvalidRequest, NotFound
from tollgate_auth.oauth.install import install_oauth
from tollgate_auth.ports import Clock, Ids
from tollgate_auth.runtime import Runtime
from tollgate_auth.settings import Settings
from tollgate_auth.web.routes import install_web
from tollgate_servicekit.health import health_router
from tollgate_servicekit.http import BodyLimit, install_error_handlers
from tollgate_servicekit.secretfiles import resolve_secret
from tollgate_servicekit.supervisor import Supervisor

ADMIN_KEY_PREFIX = "tga_"
MAX_BODY_BYTES = 64 * 1024
"""Admin requests are small JSON documents (a grant is well under 4 KiB): anything larger is refused unread."""

STATUSES = ((InvalidRequest, 422), (NotFound, 404), (Conflict, 409))


def new_admin_key() -> str:
    """`tga_` and 43 url-safe characters (256 bits)."""
    return ADMIN_KEY_PREFIX + secrets.token_urlsafe(32)


def create_app(settings: Settings, *, clock: Clock | None = None, ids: Ids | None = None) -> FastAPI:
    """A fresh app. Nothing is opened until its lifespan starts; `app.state.runtime.wait_ready()` awaits readiness.

    Raises `ConfigurationError` at once when no signing-key KEK is configured (a missing KEK file is generated).
    """
    runtime = Runtime(settings, load_signing_keyring(settings), clock=clock, ids=ids)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Configuration mistakes stop the start-up here; unreachable dependencies are retried in the background.
        runtime.admin_key = resolve_secret(
            settings.admin_key, settings.admin_key_file, generate=new_admin_key, name="TOLLGATE_AUTH_ADMIN_KEY"
        )
        runtime.open()
        try:
            async with Supervisor() as tasks:
                tasks.spawn("start-up", lambda: runtime.run(tasks))
                yield
        finally:
            await runtime.close()

    app = FastAPI(title="Tollgate auth", version=version("tollgate-auth"), lifespan=lifespan)
    app.state.runtime = runtime
    app.add_middleware(BodyLimit, max_bytes=MAX_BODY_BYTES)
    install_error_handlers(app, statuses=STATUSES)
    app.include_router(health_router(runtime.readiness))
    app.include_router(public.router)
    app.include_router(tenants.router)
    app.include_router(grants.router)
    app.include_router(users.router)
    app.include_router(requests.router)
    app.include_router(signing_keys.router)
    install_web(app)
    install_oauth(app, runtime)
    return app
