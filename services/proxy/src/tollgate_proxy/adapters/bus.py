"""The proxy's one NATS connection: servicekit's `Bus` underneath, and on top the proxy's sense of contact.

servicekit's Bus connects (retrying), reconnects forever, redacts URLs and
puts replies under `_INBOX.<user>` (so the server lets the proxy read only its
own replies). What this layer adds is `last_contact`: the last moment the
proxy knew it heard the bus (a flush answered, a policy message received). The
request path compares it with the staleness window to fail closed when the
proxy may be missing revocations; pings every couple of probe intervals make
nats-py notice a dead peer that sent no RST.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from nats.aio.client import Client as NATS
from nats.js import JetStreamContext

from tollgate_servicekit.errors import BusUnavailable
from tollgate_servicekit.nats import BUS_ERRORS
from tollgate_servicekit.nats import Bus as ServiceBus

logger = logging.getLogger(__name__)

Clock = Callable[[], float]


class Bus:
    """Connects in the background, keeps `last_contact` fresh, exposes the client once connected."""

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
        self._probe_interval = probe_interval
        self._clock = clock
        self.service_bus = ServiceBus(
            url,
            name=name,
            user=user,
            password=password,
            # A dead peer that sends no RST shows up through pings; keep them frequent.
            ping_interval=max(1.0, probe_interval * 2),
            max_outstanding_pings=2,
        )
        self.last_contact: float | None = None
        self.connected = asyncio.Event()
        """Set once the first connection is up (reconnects are nats-py's business)."""
        self.service_bus.on_reconnect(self.touch)

    @property
    def nc(self) -> NATS | None:
        """The nats-py client, None before the first connection and after closing."""
        try:
            return self.service_bus.nc
        except BusUnavailable:
            return None

    @property
    def js(self) -> JetStreamContext | None:
        try:
            return self.service_bus.js
        except BusUnavailable:
            return None

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
        await self.service_bus.connect()
        self.touch()
        self.connected.set()
        while True:
            await asyncio.sleep(self._probe_interval)
            await self._probe()

    async def _probe(self) -> None:
        nc = self.nc
        if nc is None or not nc.is_connected:
            return
        try:
            await nc.flush(timeout=max(1, int(self._probe_interval)))
        except BUS_ERRORS as exc:
            logger.warning("bus probe failed: %s", type(exc).__name__)
        else:
            self.touch()

    async def close(self) -> None:
        await self.service_bus.close()
