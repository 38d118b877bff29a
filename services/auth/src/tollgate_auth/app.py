"""`create_app(settings)`: the FastAPI application; its lifespan owns every resource and background task."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import version

from fastapi import FastAPI

from tollgate_auth.adapters.db import check_database_settings
from tollgate_auth.adapters.kek import load_signing_keyring
from tollgate_auth.adminkey import resolve_admin_key
from tollgate_auth.api import grants, public, tenants
from tollgate_auth.api.errors import install_error_handlers
from tollgate_auth.ports import Clock, Ids
from tollgate_auth.runtime import Runtime
from tollgate_auth.settings import Settings


def create_app(settings: Settings, *, clock: Clock | None = None, ids: Ids | None = None) -> FastAPI:
    """A fresh app. Nothing is opened until its lifespan starts; `app.state.runtime.wait_ready()` awaits readiness.

    Raises `ConfigurationError` at once when no signing-key KEK is configured (a missing KEK file is generated).
    """
    runtime = Runtime(settings, load_signing_keyring(settings), clock=clock, ids=ids)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Configuration mistakes stop the start-up here; unreachable dependencies are retried in the background.
        check_database_settings(settings.database_url, settings.database_schema)
        runtime.admin_key = resolve_admin_key(settings)
        try:
            async with asyncio.TaskGroup() as tasks:
                running = tasks.create_task(runtime.run(), name="tollgate-auth-runtime")
                try:
                    yield
                finally:
                    running.cancel()
        finally:
            await runtime.close()

    app = FastAPI(title="Tollgate auth", version=version("tollgate-auth"), lifespan=lifespan)
    app.state.runtime = runtime
    install_error_handlers(app)
    app.include_router(public.router)
    app.include_router(tenants.router)
    app.include_router(grants.router)
    return app
