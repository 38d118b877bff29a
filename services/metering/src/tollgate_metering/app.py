"""The app factory. Nothing happens at import; `create_app(settings)` builds a fresh app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from tollgate_metering.api import usage
from tollgate_metering.domain.errors import ConfigurationError, GrantNotFound
from tollgate_metering.domain.pricing import Price, PriceRule, PriceTable, builtin_table
from tollgate_metering.ports import Clock
from tollgate_metering.runtime import Runtime
from tollgate_metering.settings import Settings
from tollgate_servicekit.health import health_router
from tollgate_servicekit.http import BodyLimit, install_error_handlers


def price_table(settings: Settings) -> PriceTable:
    """The built-in prices, overridden by configured rules and fallback."""
    table = builtin_table()
    fallback = Price(
        settings.fallback_input_micro_usd_per_mtok
        if settings.fallback_input_micro_usd_per_mtok is not None
        else table.fallback.input_micro_usd_per_mtok,
        settings.fallback_output_micro_usd_per_mtok
        if settings.fallback_output_micro_usd_per_mtok is not None
        else table.fallback.output_micro_usd_per_mtok,
    )
    rules = [
        PriceRule(p.provider, p.model, Price(p.input_micro_usd_per_mtok, p.output_micro_usd_per_mtok))
        for p in settings.prices
    ]
    return table.with_rules(rules, fallback)


def create_app(settings: Settings, *, clock: Clock | None = None) -> FastAPI:
    """The metering app. Raises ConfigurationError before anything starts when there is no admin key, or the
    database URL or schema name can never work."""
    admin_key = settings.resolved_admin_key()
    try:
        runtime = Runtime(settings, price_table(settings), clock)
    except ValueError as exc:  # servicekit's check of the database URL and schema name
        raise ConfigurationError(str(exc)) from exc

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # The runtime starts in the background so /healthz answers while the database or NATS are still away.
        async with runtime.running():
            yield

    app = FastAPI(title="Tollgate metering", version="0.1.0", lifespan=lifespan)
    app.state.runtime = runtime
    app.state.admin_key = admin_key
    install_error_handlers(app, statuses=[(GrantNotFound, 404)])
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.include_router(health_router(runtime.readiness))
    app.include_router(usage.router)
    return app
