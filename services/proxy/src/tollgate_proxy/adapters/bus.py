"""The proxy's one NATS connection: opened in the background, retried forever, and probed for contact.

`last_contact` is the last moment the proxy knew it heard the bus (a PING
answered, a policy message received). The request path compares it with the
staleness window to fail closed when the proxy may be missing revocations.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import nats
from nats.aio.client import Client as NATS
from nats.errors import Error as NatsError
from nats.js import JetStreamContext

logger = logging.getLogger(__name__)

Clock = Callable[[], float]


class Bus:
    """Connects, keeps `last_contact` fresh, exposes the client once connected."""

    def __init__(
        self,
        url: str,
        *,
        name: str,
        user: str | None = None,
        password: str | None = None,
        probe_interval: float = 5.0,
        clock: Clock = time.monotonic,
    ) -> None:
        self._url = url
        self._name = name
        self._user = user
        self._password = password
        self._probe_interval = probe_interval
        self._clock = clock
        self.nc: NATS | None = None
        self.js: JetStreamContext | None = None
        self.last_contact: float | None = None
        self.connected = asyncio.Event()
        """Set once the first connection is up (reconnects are nats-py's business)."""
        self._closing = False

    def touch(self) -> None:
        """Record that the bus was just heard from."""
        self.last_contact = self._clock()

    def seconds_since_contact(self) -> float:
        """How long since the bus was last heard from (infinite before the first contact)."""
        if self.last_contact is None:
            return float("inf")
        return self._clock() - self.last_contact

    async def run(self) -> None:
        """Connect (retrying), then probe the connection until cancelled."""
        await self._connect()
        while True:
            await asyncio.sleep(self._probe_interval)
            await self._probe()

    async def _connect(self) -> None:
        delay = 0.2
        while True:
            try:
                nc = await nats.connect(
                    self._url,
                    name=self._name,
                    user=self._user,
                    password=self._password,
                    allow_reconnect=True,
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=1,
                    connect_timeout=2,
                    # A dead peer that sends no RST shows up through pings; keep them frequent.
                    ping_interval=max(1, int(self._probe_interval * 2)),
                    max_outstanding_pings=2,
                    error_cb=self._on_error,
                    disconnected_cb=self._on_disconnected,
                    reconnected_cb=self._on_reconnected,
                )
            except (TimeoutError, OSError, NatsError) as exc:
                logger.warning("bus not reachable yet (%s); retrying in %.1fs", type(exc).__name__, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            self.nc = nc
            self.js = nc.jetstream()
            self.touch()
            self.connected.set()
            logger.info("connected to the bus")
            return

    async def _probe(self) -> None:
        nc = self.nc
        if nc is None or not nc.is_connected:
            return
        try:
            await nc.flush(timeout=max(1, int(self._probe_interval)))
        except (TimeoutError, NatsError) as exc:
            logger.warning("bus probe failed: %s", type(exc).__name__)
        else:
            self.touch()

    async def _on_error(self, exc: Exception) -> None:
        logger.warning("bus error: %s", exc)

    async def _on_disconnected(self) -> None:
        if self._closing:
            return
        logger.warning("disconnected from the bus; serving from cache for the staleness window")

    async def _on_reconnected(self) -> None:
        self.touch()
        logger.info("reconnected to the bus")

    async def close(self) -> None:
        self._closing = True
        nc = self.nc
        if nc is not None and not nc.is_closed:
            try:
                await nc.drain()
            except (TimeoutError, NatsError) as exc:
                logger.warning("bus drain failed (%s); closing", type(exc).__name__)
                await nc.close()
