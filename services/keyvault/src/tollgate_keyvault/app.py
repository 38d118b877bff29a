"""`create_app(settings)`: the FastAPI application; the database and bus are built in its lifespan."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

from tollgate_contracts import new_id, utcnow
from tollgate_keyvault.adapters.bus import NatsBus
from tollgate_keyvault.adapters.db import Database, SqlCredentialStore
from tollgate_keyvault.adapters.keyfiles import check_startup
from tollgate_keyvault.api import errors
from tollgate_keyvault.api.routes import credentials, health
from tollgate_keyvault.ports import Clock, IdFactory
from tollgate_keyvault.runtime import Runtime
from tollgate_keyvault.service import KeyvaultService
from tollgate_keyvault.settings import Settings


def create_app(settings: Settings, clock: Clock = utcnow, ids: IdFactory = new_id) -> FastAPI:
    """The keyvault app. Raises ConfigurationError at once when no KEK or no admin key is configured."""
    keyring, admin_key = check_startup(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database = Database(settings.database_url, settings.database_schema)
        password = settings.nats_password.get_secret_value() if settings.nats_password else None
        bus = NatsBus(settings.nats_url, settings.nats_user, password)
        service = KeyvaultService(SqlCredentialStore(database), bus, keyring, clock, ids, settings.producer)
        runtime = Runtime(service, database, bus, admin_key, retry_seconds=settings.retry_seconds)
        app.state.runtime = runtime
        starting = asyncio.create_task(runtime.bring_up(), name="keyvault-bring-up")
        try:
            yield
        finally:
            starting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await starting
            await bus.close()
            await database.dispose()

    app = FastAPI(title="Tollgate keyvault", version="0.1.0", lifespan=lifespan)
    errors.install(app)
    app.include_router(health)
    app.include_router(credentials)
    return app
