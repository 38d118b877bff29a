"""`create_app(settings)`: the FastAPI application; the database, bus and seal responder are built in its lifespan,
and every background task runs in the lifespan's supervisor."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI
from starlette.middleware import Middleware

from tollgate_keyvault.adapters.bus import BusPublisher
from tollgate_keyvault.adapters.db import SqlCredentialStore
from tollgate_keyvault.adapters.keyfiles import check_startup
from tollgate_keyvault.adapters.tenants import BusTenants
from tollgate_keyvault.api.routes import credentials
from tollgate_keyvault.consumers import AfterReply, seal_broker, seal_router, stop_broker
from tollgate_keyvault.domain.errors import (
    ConcurrentUpdate,
    ConfigurationError,
    CredentialNotFound,
    InvalidInput,
    KeyUnavailable,
    KeyvaultError,
    TenantNotFound,
)
from tollgate_keyvault.ports import Clock, Ids
from tollgate_keyvault.runtime import Runtime, startup_steps
from tollgate_keyvault.service import KeyvaultService
from tollgate_keyvault.settings import Settings
from tollgate_servicekit.clock import RandomIds, SystemClock
from tollgate_servicekit.egress import EgressGuard, Resolver
from tollgate_servicekit.health import health_router
from tollgate_servicekit.http import BodyLimit, install_error_handlers
from tollgate_servicekit.nats import Bus
from tollgate_servicekit.sql import Database, check_database_settings
from tollgate_servicekit.supervisor import Startup, Supervisor

ERROR_STATUSES: tuple[tuple[type[Exception], int], ...] = (
    (InvalidInput, 422),
    (CredentialNotFound, 404),
    (TenantNotFound, 404),
    (ConcurrentUpdate, 409),
    (KeyUnavailable, 503),
    (KeyvaultError, 500),
)


def create_app(
    settings: Settings, clock: Clock | None = None, ids: Ids | None = None, *, resolver: Resolver | None = None
) -> FastAPI:
    """The keyvault app. Raises ConfigurationError at once when no KEK or no admin key is configured, or the
    database or egress settings can never work. `resolver` replaces DNS for the egress guard (tests)."""
    keyring, admin_key = check_startup(settings)
    try:
        check_database_settings(settings.database_url, settings.database_schema)
        egress = EgressGuard(settings.egress_allow, resolver=resolver)
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from None

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            database = Database(settings.database_url, settings.database_schema)
            stack.push_async_callback(database.dispose)
            password = settings.nats_password.get_secret_value() if settings.nats_password else None
            bus = Bus(settings.nats_url, name="tollgate-keyvault", user=settings.nats_user, password=password)
            stack.push_async_callback(bus.close)
            store = SqlCredentialStore(database)
            publisher = BusPublisher(bus)
            service = KeyvaultService(
                store,
                publisher,
                keyring,
                clock or SystemClock(),
                ids or RandomIds(),
                settings.producer,
                tenants=BusTenants(bus),
                egress=egress,
            )
            audits = AfterReply(service.record)
            broker = seal_broker(settings.nats_url, user=settings.nats_user, password=password)
            broker.include_router(seal_router(service.seal, audits.put))
            stack.push_async_callback(stop_broker, broker)
            # Entered last, so it leaves first: tasks stop before the responder, bus and database close.
            tasks = await stack.enter_async_context(Supervisor())
            steps = startup_steps(service, store, bus, broker)
            startup = Startup(steps, retry_seconds=settings.retry_seconds)
            app.state.runtime = Runtime(service, database, bus, broker, admin_key, tasks, startup)
            tasks.spawn("start-up", startup.run)
            tasks.spawn("seal audits", audits.run)
            yield

    def readiness_of(app: FastAPI) -> Runtime:
        runtime: Runtime = app.state.runtime
        return runtime

    app = FastAPI(
        title="Tollgate keyvault",
        version="0.1.0",
        lifespan=lifespan,
        middleware=[Middleware(BodyLimit, max_bytes=settings.max_body_bytes)],
    )
    install_error_handlers(app, statuses=ERROR_STATUSES)
    app.include_router(health_router(lambda: readiness_of(app).readiness()))
    app.include_router(credentials)
    return app
