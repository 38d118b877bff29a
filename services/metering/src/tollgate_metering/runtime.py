"""The service's resources and background work: started, supervised and stopped by the app's lifespan.

Start-up retries until the database and NATS answer (meanwhile `/healthz` is 200 and `/readyz` 503 says what
it waits for), then: tables, streams, prices, the grant follower (caught up first), the usage consumer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from nats.aio.client import Client as NATS

from tollgate_contracts import GrantState, UsageRecorded
from tollgate_contracts.bus import ensure_streams
from tollgate_contracts.streams import GRANTS, USAGE
from tollgate_metering.adapters.bus import BUS_ERRORS, JetStreamPublisher, PullConsumer, StateFollower, connect
from tollgate_metering.adapters.clock import SystemClock
from tollgate_metering.adapters.db import Database, SqlStore
from tollgate_metering.consumers import GrantHandler, UsageHandler
from tollgate_metering.domain.errors import BusUnavailable, StoreUnavailable, Unavailable
from tollgate_metering.domain.pricing import PriceTable
from tollgate_metering.service import Metering
from tollgate_metering.settings import Settings
from tollgate_metering.stopping import sleep_unless_stopped, unless_stopped

logger = logging.getLogger(__name__)

USAGE_DURABLE = "metering"
"""The one durable consumer every metering replica shares."""


class Runtime:
    """Everything that lives as long as the app: database, NATS connection, service, consumers."""

    def __init__(self, settings: Settings, prices: PriceTable) -> None:
        self.settings = settings
        self.prices = prices
        self.phase = "starting"
        self.ready = asyncio.Event()
        self._stop = asyncio.Event()
        self.database: Database | None = None
        self.nc: NATS | None = None
        self.metering: Metering | None = None
        self._consumer: PullConsumer | None = None

    def request_stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        """Start, serve until asked to stop, then finish the batch in hand and close everything."""
        try:
            # Start-up may sit in a connect for a while (nats-py retries the first connection for ever).
            if await unless_stopped(self._start(), self._stop):
                await self._serve()
        except Exception as exc:
            # Nothing left to retry: say so on /readyz (so an orchestrator restarts us) rather than die silently.
            self.phase = f"failed: {type(exc).__name__}"
            self.ready.clear()
            logger.exception("metering failed")
        finally:
            await self._close()

    async def _start(self) -> bool:
        """Bring up the database, NATS, streams and prices, retrying transient failures; False if stopped."""
        settings = self.settings
        while not self._stop.is_set():
            try:
                if self.database is None:
                    self.phase = "connecting to the database"
                    database = Database(settings.database_url, settings.database_schema)
                    try:
                        await database.create_all()
                    except StoreUnavailable:
                        await database.dispose()
                        raise
                    self.database = database
                if self.nc is None:
                    self.phase = "connecting to NATS"
                    self.nc = await connect(
                        settings.nats_url,
                        settings.nats_user,
                        settings.nats_password.get_secret_value() if settings.nats_password else None,
                        name=settings.producer,
                    )
                self.phase = "ensuring streams"
                try:
                    await ensure_streams(self.nc.jetstream())
                except BUS_ERRORS as exc:
                    raise BusUnavailable(f"cannot ensure streams: {type(exc).__name__}") from exc
                self.metering = Metering(
                    SqlStore(self.database),
                    JetStreamPublisher(self.nc.jetstream()),
                    self.prices,
                    SystemClock(),
                    producer=settings.producer,
                )
                self.phase = "publishing prices"
                await self.metering.publish_prices()
                self.phase = "binding the usage consumer"
                # Bound before ready: once /readyz says ready, the durable consumer exists.
                self._consumer = self._consumer or PullConsumer(
                    self.nc.jetstream(),
                    stream=USAGE.name,
                    subject=UsageRecorded.subject_prefix,
                    durable=USAGE_DURABLE,
                    batch=settings.consumer_batch,
                    fetch_timeout=settings.fetch_timeout_seconds,
                    ack_wait=settings.ack_wait_seconds,
                    retry_delay=settings.retry_delay_seconds,
                )
                await self._consumer.subscribe()
                return True
            except Unavailable as exc:
                logger.warning("%s: %s; retrying", self.phase, exc)
                await self._pause()
        return False

    async def _serve(self) -> None:
        assert self.metering is not None and self.nc is not None and self._consumer is not None
        metering, js, settings, consumer = self.metering, self.nc.jetstream(), self.settings, self._consumer
        follower = StateFollower(js, stream=GRANTS.name, subject=f"{GrantState.subject_prefix}.>")
        grant_handler = GrantHandler(metering, settings.retry_delay_seconds)

        async def follow_grants() -> None:
            await follower.run(grant_handler)

        usage_handler = UsageHandler(metering, settings.retry_delay_seconds)

        async def consume_usage() -> None:
            try:
                await consumer.run(usage_handler, self._stop)
            finally:
                await consumer.close()

        async with asyncio.TaskGroup() as tasks:
            following = tasks.create_task(self._supervise("grant follower", follow_grants))
            self.phase = "replaying grant state"
            # Usage waits for the grants, so the first BudgetStates already carry each grant's caps.
            if await unless_stopped(follower.caught_up.wait(), self._stop):
                tasks.create_task(self._supervise("usage consumer", consume_usage))
                self.phase = "ready"
                self.ready.set()
                logger.info("metering ready")
                await self._stop.wait()
            self.phase = "stopping"
            self.ready.clear()
            following.cancel()

    async def _supervise(self, name: str, work: Callable[[], Awaitable[None]]) -> None:
        """Run `work` until stopped, restarting it after failures (logged, never swallowed silently)."""
        while not self._stop.is_set():
            try:
                await work()
            except Unavailable as exc:
                logger.warning("%s interrupted (%s); restarting", name, exc)
            except Exception:
                logger.exception("%s crashed; restarting", name)
            await self._pause()

    async def _pause(self) -> None:
        await sleep_unless_stopped(self.settings.retry_delay_seconds, self._stop)

    async def _close(self) -> None:
        self.ready.clear()
        if self.nc is not None:
            try:
                await self.nc.close()
            except BUS_ERRORS as exc:
                logger.info("closing NATS failed: %s", type(exc).__name__)
            self.nc = None
        if self.database is not None:
            await self.database.dispose()
            self.database = None
        self.metering = None

    async def check(self) -> str | None:
        """None when ready to serve, else why not."""
        if not self.ready.is_set():
            return self.phase
        if self.nc is None or not self.nc.is_connected:
            return "not connected to NATS"
        if self.database is None:
            return "no database"
        try:
            await self.database.ping()
        except StoreUnavailable as exc:
            return str(exc)
        return None
