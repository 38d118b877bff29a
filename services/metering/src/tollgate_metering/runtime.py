"""The service's resources and background work, owned by the app's lifespan.

Start-up (`tollgate_servicekit.supervisor.Startup`: each step retried until it succeeds, while `/healthz` is 200
and `/readyz` 503 says which step it waits for): the database (tables, newer columns), NATS, the streams
metering uses (auth creates them), the prices, the usage consumer's binding. Then, as supervised tasks: the
grant follower and, once it has replayed every grant, the usage consumer. On stop the tasks are cancelled (the
usage batch in hand is finished first), then NATS and the database are closed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from tollgate_contracts import GrantState, UsageRecorded
from tollgate_contracts.streams import BUDGETS, GRANTS, PRICES, USAGE
from tollgate_metering.adapters.bus import BusPublisher, PullConsumer, StateFollower
from tollgate_metering.adapters.db import SqlStore, prepare
from tollgate_metering.consumers import GrantHandler, UsageHandler
from tollgate_metering.domain.errors import BusUnavailable, StoreUnavailable
from tollgate_metering.domain.pricing import PriceTable
from tollgate_metering.ports import Clock
from tollgate_metering.service import Metering
from tollgate_metering.settings import Settings
from tollgate_servicekit.clock import SystemClock
from tollgate_servicekit.nats import Bus
from tollgate_servicekit.sql import Database
from tollgate_servicekit.supervisor import Startup, Supervisor

logger = logging.getLogger(__name__)

USAGE_DURABLE = "metering"
"""The one durable consumer every metering replica shares."""

USED_STREAMS = (USAGE, GRANTS, BUDGETS, PRICES)
"""The streams metering reads or writes; it waits for them at start and creates none."""


class Runtime:
    """Everything that lives as long as the app: database, NATS connection, service, consumers."""

    def __init__(self, settings: Settings, prices: PriceTable, clock: Clock | None = None) -> None:
        self.settings = settings
        retry = settings.retry_delay_seconds
        # Building these opens nothing (the URL and schema name are checked here, before anything starts).
        self.database = Database(settings.database_url, settings.database_schema)
        self.bus = Bus(
            settings.nats_url,
            name=settings.producer,
            user=settings.nats_user,
            password=settings.nats_password.get_secret_value() if settings.nats_password else None,
        )
        self.metering = Metering(
            SqlStore(self.database), BusPublisher(self.bus), prices, clock or SystemClock(), settings.producer
        )
        self.follower = StateFollower(self.bus, stream=GRANTS.name, subject=f"{GrantState.subject_prefix}.>")
        self.consumer = PullConsumer(
            self.bus,
            stream=USAGE.name,
            subject=UsageRecorded.subject_prefix,
            durable=USAGE_DURABLE,
            batch=settings.consumer_batch,
            fetch_timeout=settings.fetch_timeout_seconds,
            ack_wait=settings.ack_wait_seconds,
            retry_delay=retry,
        )
        self.startup = Startup(
            [
                ("the database", lambda: prepare(self.database)),
                ("NATS", self.bus.connect),
                # Metering creates no stream (auth does), so its NATS user needs no right to create one.
                ("the streams", lambda: self.bus.wait_for_streams(USED_STREAMS)),
                ("the prices", self.metering.publish_prices),
                # Bound before ready: once /readyz says ready, the durable consumer exists.
                ("the usage consumer", self.consumer.subscribe),
            ],
            retry_seconds=retry,
        )
        self.ready = asyncio.Event()
        self.tasks: Supervisor | None = None

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Start in the background and yield while serving; on exit stop everything (see the module docstring).

        A crashed task is logged with its traceback, shown on /readyz, and started again after the retry delay.
        """
        try:
            async with Supervisor(restart_after=self.settings.retry_delay_seconds) as tasks:
                self.tasks = tasks
                tasks.spawn("start-up", self._start)
                try:
                    yield
                finally:
                    self.ready.clear()
        finally:
            await self.consumer.close()
            await self.bus.close()
            await self.database.dispose()

    async def _start(self) -> None:
        await self.startup.run()
        self._spawn("grant follower", self._follow_grants)
        # Usage waits for the grants, so the first BudgetStates already carry each grant's caps.
        await self.follower.caught_up.wait()
        self._spawn("usage consumer", self._consume_usage)
        self.ready.set()
        logger.info("metering ready")

    def _spawn(self, name: str, work: Callable[[], Awaitable[None]]) -> None:
        assert self.tasks is not None
        if name not in self.tasks.running():  # a restarted start-up finds them running already
            self.tasks.spawn(name, work)

    async def _follow_grants(self) -> None:
        handler = GrantHandler(self.metering, self.settings.retry_delay_seconds)
        while True:
            try:
                await self.follower.run(handler)
            except BusUnavailable as exc:
                logger.warning("grant follower: %s; retrying", exc.message)
            await asyncio.sleep(self.settings.retry_delay_seconds)

    async def _consume_usage(self) -> None:
        await self.consumer.run(UsageHandler(self.metering, self.settings.retry_delay_seconds))

    async def readiness(self) -> str | None:
        """None when ready to serve, else why not (for /readyz)."""
        if self.tasks is not None and (failure := self.tasks.failure()):
            return failure
        if not self.startup.ready:
            return self.startup.detail
        if not self.follower.caught_up.is_set():
            return "replaying grant state"
        if not self.ready.is_set():
            return "starting the usage consumer"
        if problem := self.consumer.problem:
            return problem
        if not self.bus.is_connected:
            return "not connected to NATS"
        try:
            await self.database.ping()
        except StoreUnavailable as exc:
            return exc.message
        return None
