"""The app factory. Nothing happens at import; `create_app(settings)` builds a fresh app."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from tollgate_metering.api import health, usage
from tollgate_metering.api.errors import install_error_handlers
from tollgate_metering.domain.pricing import Price, PriceRule, PriceTable, builtin_table
from tollgate_metering.runtime import Runtime
from tollgate_metering.settings import Settings


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


def create_app(settings: Settings) -> FastAPI:
    """The metering app. Raises ConfigurationError (before anything starts) when there is no admin key."""
    admin_key = settings.resolved_admin_key()
    runtime = Runtime(settings, price_table(settings))

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # The runtime starts in the background so /healthz answers while the database or NATS are still away.
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(runtime.run())
            try:
                yield
            finally:
                runtime.request_stop()

    app = FastAPI(title="Tollgate metering", version="0.1.0", lifespan=lifespan)
    app.state.runtime = runtime
    app.state.admin_key = admin_key.get_secret_value().encode()
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(usage.router)
    return app
